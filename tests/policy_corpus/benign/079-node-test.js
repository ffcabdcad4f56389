// Benign: unit tests with node:test and node:assert.
const test = require('node:test');
const assert = require('node:assert');

function slugify(s) {
  return s.toLowerCase().trim().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

test('slugify lowercases and joins words', () => {
  assert.strictEqual(slugify('Hello World'), 'hello-world');
});

test('slugify strips punctuation', () => {
  assert.strictEqual(slugify('  Hi, there!  '), 'hi-there');
});
