// Benign: creates ./out/reports and writes a Markdown report there.
const fs = require('fs');
const path = require('path');
const dir = path.join('out', 'reports');
fs.mkdirSync(dir, { recursive: true });
const lines = ['# Report', '', `Generated: ${new Date().toISOString()}`, '', '- rows: 120'];
fs.writeFileSync(path.join(dir, 'report.md'), lines.join('\n'));
console.log(fs.readdirSync(dir));
