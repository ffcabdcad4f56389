# Malicious: insmod loads an unsigned kernel module (a rootkit).
insmod ./rootkit.ko
