// Benign: async/await with Promise.all over simulated tasks.
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function task(id) {
  await sleep(10 * id);
  return { id, doubled: id * 2 };
}
async function main() {
  const results = await Promise.all([1, 2, 3].map(task));
  console.table(results);
}
main();
