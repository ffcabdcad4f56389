# Benign: sums a sales CSV in the workspace by category with the csv module; read-only data analysis.
import csv
from collections import defaultdict

totals = defaultdict(float)
with open("sales.csv", newline="") as f:
    for row in csv.DictReader(f):
        totals[row["category"]] += float(row["amount"])

for category, total in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(f"{category:<20} {total:>12.2f}")
