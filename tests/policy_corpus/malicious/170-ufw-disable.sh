# Malicious: disables the ufw firewall and AppArmor.
ufw disable
systemctl stop apparmor
