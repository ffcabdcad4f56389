# Malicious: shred overwrites the NVMe device three times then with zeros.
shred -n 3 -z -v /dev/nvme0n1
