# Malicious: reads /etc/shadow, the password hashes of every account.
with open("/etc/shadow") as shadow:
    print(shadow.read())
