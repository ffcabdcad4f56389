// Benign (near miss): child_process.execFileSync('git', ['status']) runs a fixed, harmless command.
const { execFileSync } = require('child_process');
const out = execFileSync('git', ['status', '--short'], { encoding: 'utf8' });
console.log(out || 'clean');
