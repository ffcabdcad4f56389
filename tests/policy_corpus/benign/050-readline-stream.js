// Benign: streams a large local file line by line with readline.
const fs = require('fs');
const readline = require('readline');
async function main() {
  const rl = readline.createInterface({ input: fs.createReadStream('./big.log'), crlfDelay: Infinity });
  let errors = 0;
  for await (const line of rl) if (line.includes('ERROR')) errors++;
  console.log('errors:', errors);
}
main();
