// Benign: path manipulation with the path module.
const path = require('path');
const file = path.join('reports', '2024', 'summary.csv');
console.log(path.basename(file), path.extname(file), path.dirname(file));
console.log(path.relative('reports', file));
console.log(path.resolve('.', file).endsWith(file));
