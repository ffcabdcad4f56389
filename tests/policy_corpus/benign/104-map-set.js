// Benign: Map and Set for counting and de-duplication.
const words = 'the cat and the hat and the bat'.split(' ');
const unique = new Set(words);
const counts = new Map();
for (const w of words) counts.set(w, (counts.get(w) || 0) + 1);
console.log([...unique].sort(), [...counts.entries()].sort((a, b) => b[1] - a[1]));
