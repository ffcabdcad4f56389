# Malicious: mkfs.ext4 on /dev/sdb formats the disk and loses everything on it.
mkfs.ext4 -F /dev/sdb
