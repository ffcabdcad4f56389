// Benign: map, filter, reduce and sort over an array of orders.
const orders = [
  { id: 1, total: 30, status: 'paid' },
  { id: 2, total: 12.5, status: 'open' },
  { id: 3, total: 99, status: 'paid' },
];
const paid = orders.filter((o) => o.status === 'paid');
const revenue = paid.reduce((sum, o) => sum + o.total, 0);
const ids = [...orders].sort((a, b) => b.total - a.total).map((o) => o.id);
console.log({ revenue, ids });
