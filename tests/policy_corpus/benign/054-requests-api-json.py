# Benign: fetches JSON from a public API with requests and saves it to the workspace.
import json

import requests

response = requests.get("https://api.example.com/data", params={"limit": 100}, timeout=10)
response.raise_for_status()
with open("data.json", "w") as f:
    json.dump(response.json(), f, indent=2)
