// Benign: parses access-log lines with a regular expression and counts status codes.
const lines = [
  '127.0.0.1 - - [10/Oct/2024:13:55:36] "GET /index.html HTTP/1.1" 200 2326',
  '127.0.0.1 - - [10/Oct/2024:13:55:40] "GET /missing HTTP/1.1" 404 512',
  '127.0.0.1 - - [10/Oct/2024:13:56:01] "POST /api HTTP/1.1" 200 88',
];
const re = /"(\w+) (\S+) [^"]+" (\d{3}) (\d+)/;
const counts = {};
for (const line of lines) {
  const m = re.exec(line);
  if (m) counts[m[3]] = (counts[m[3]] || 0) + 1;
}
console.log(counts);
