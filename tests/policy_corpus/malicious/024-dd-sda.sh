# Malicious: dd of=/dev/sda overwrites the whole disk with zeros.
dd if=/dev/zero of=/dev/sda bs=1M status=progress
