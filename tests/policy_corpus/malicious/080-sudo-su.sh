# Malicious: sudo su - asks for a root login shell.
sudo su -
