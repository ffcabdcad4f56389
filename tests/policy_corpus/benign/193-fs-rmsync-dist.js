// Benign (near miss): fs.rmSync('./dist', { recursive: true, force: true }) clears the relative build output.
const fs = require('fs');
fs.rmSync('./dist', { recursive: true, force: true });
fs.mkdirSync('./dist/assets', { recursive: true });
fs.writeFileSync('./dist/index.html', '<!doctype html><title>app</title>');
