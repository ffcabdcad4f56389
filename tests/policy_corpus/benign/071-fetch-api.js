// Benign: fetches JSON from an API and prints a summary.
async function main() {
  const res = await fetch('https://api.example.com/users?page=1');
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const users = await res.json();
  console.log(users.length, 'users');
  for (const u of users.slice(0, 5)) console.log(u.id, u.name);
}
main().catch((e) => console.error(e));
