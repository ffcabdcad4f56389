// Benign: the SHA-256 of a workspace file with the crypto module.
const crypto = require('crypto');
const fs = require('fs');
const hash = crypto.createHash('sha256').update(fs.readFileSync('./package.json')).digest('hex');
console.log(hash);
