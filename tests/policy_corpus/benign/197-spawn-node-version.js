// Benign (near miss): spawnSync of node --version, a fixed harmless command, with its output printed.
const { spawnSync } = require('child_process');
const result = spawnSync(process.execPath, ['--version'], { encoding: 'utf8' });
console.log('node', result.stdout.trim(), 'exit', result.status);
