// Benign (near miss): JSON.parse of a string (data, not code), with a reviver for dates.
const text = '{"name":"report","created":"2024-05-01T10:00:00Z","rows":[1,2,3]}';
const obj = JSON.parse(text, (k, v) => (k === 'created' ? new Date(v) : v));
console.log(obj.name, obj.created.toISOString(), obj.rows.length);
