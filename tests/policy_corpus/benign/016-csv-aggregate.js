// Benign: parses a CSV file from the workspace and totals a column per group.
const fs = require('fs');
const [header, ...rows] = fs.readFileSync('./sales.csv', 'utf8').trim().split('\n');
const cols = header.split(',');
const region = cols.indexOf('region');
const amount = cols.indexOf('amount');
const totals = {};
for (const row of rows) {
  const f = row.split(',');
  totals[f[region]] = (totals[f[region]] || 0) + Number(f[amount]);
}
console.log(totals);
