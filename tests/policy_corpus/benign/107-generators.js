// Benign: generator functions for lazy sequences.
function* naturals() {
  let n = 1;
  while (true) yield n++;
}
function* take(it, k) {
  for (const x of it) {
    if (k-- <= 0) return;
    yield x;
  }
}
console.log([...take(naturals(), 10)].map((n) => n * n));
