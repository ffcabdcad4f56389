# Benign (near miss): dd writes a 10 MiB zero-filled image file in the workspace, not a device.
dd if=/dev/zero of=./disk.img bs=1M count=10
ls -lh ./disk.img
