# Benign: loads a JSON file and counts records by status; local parsing only.
import json
from collections import Counter

with open("data.json") as f:
    records = json.load(f)

counts = Counter(record.get("status", "unknown") for record in records)
print(json.dumps(counts, indent=2, sort_keys=True))
