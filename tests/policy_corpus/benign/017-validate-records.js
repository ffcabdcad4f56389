// Benign: validates records against a small hand-written schema.
const schema = { id: 'number', email: 'string', active: 'boolean' };
function validate(rec) {
  return Object.entries(schema)
    .filter(([k, t]) => typeof rec[k] !== t)
    .map(([k, t]) => `${k} should be ${t}`);
}
const records = [{ id: 1, email: 'a@example.com', active: true }, { id: '2', email: 'b@example.com' }];
records.forEach((r, i) => console.log(i, validate(r)));
