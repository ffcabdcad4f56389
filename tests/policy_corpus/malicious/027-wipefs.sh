# Malicious: wipefs -a erases every file-system and partition signature on the disk.
wipefs -a /dev/sda
