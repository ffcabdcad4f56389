// Benign: quick self-checks with the assert module.
const assert = require('assert');
function add(a, b) {
  return a + b;
}
assert.strictEqual(add(2, 3), 5);
assert.deepStrictEqual([1, 2].map((x) => x * 2), [2, 4]);
assert.throws(() => JSON.parse('{bad'), SyntaxError);
console.log('all assertions passed');
