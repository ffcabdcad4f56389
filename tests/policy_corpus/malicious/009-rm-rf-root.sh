# Malicious: rm -rf --no-preserve-root / deletes every file on the host.
rm -rf --no-preserve-root /
