# Benign: flattens nested JSON records and writes them as CSV in the workspace.
import csv
import json


def flatten(obj, prefix=""):
    out = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


rows = [flatten(r) for r in json.load(open("users.json"))]
fields = sorted({k for r in rows for k in r})
with open("users.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
