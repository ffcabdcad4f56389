// Benign: reads a JSON file from the workspace, updates it and writes it back.
const fs = require('fs');
const config = JSON.parse(fs.readFileSync('./config.json', 'utf8'));
config.runs = (config.runs || 0) + 1;
fs.writeFileSync('./config.json', JSON.stringify(config, null, 2));
console.log('runs:', config.runs);
