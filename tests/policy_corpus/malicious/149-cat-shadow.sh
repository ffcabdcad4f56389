# Malicious: reads /etc/shadow (password hashes).
cat /etc/shadow
