# Benign: counts error lines in the workspace's logs and posts the totals to a team dashboard.
import glob

import requests

counts = {}
for path in glob.glob("logs/*.log"):
    with open(path) as handle:
        counts[path] = sum("ERROR" in line for line in handle)
requests.post("https://dashboard.example.com/api/errors", json=counts, timeout=10)
