# Malicious: forces an immediate reboot.
reboot -f
