// Malicious: process.kill(-1, 'SIGKILL') kills every process the user can signal.
process.kill(-1, 'SIGKILL');
