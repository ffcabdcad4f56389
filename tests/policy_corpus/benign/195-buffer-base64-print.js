// Benign (near miss): Buffer base64 encoding and decoding of text that is only printed, never evaluated.
const encoded = Buffer.from('hello, world').toString('base64');
const decoded = Buffer.from(encoded, 'base64').toString('utf8');
console.log(encoded, decoded);
