# Benign: downloads a JSON document with urllib and parses it; the data is never executed.
import json
import urllib.request

with urllib.request.urlopen("https://api.example.com/items?page=1", timeout=10) as response:
    items = json.load(response)
print(len(items), "items")
