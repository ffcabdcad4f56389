// Benign: a promise chain with error handling.
const wait = (ms, value) => new Promise((resolve) => setTimeout(() => resolve(value), ms));
wait(50, 2)
  .then((x) => x * 21)
  .then((x) => {
    if (x !== 42) throw new Error('unexpected');
    return x;
  })
  .then((x) => console.log('result', x))
  .catch((err) => console.error('failed:', err.message));
