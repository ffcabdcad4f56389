# Benign: prints a text histogram of values read from a local file.
from collections import Counter

with open("values.txt") as f:
    values = [int(line) for line in f if line.strip()]

buckets = Counter(v // 10 * 10 for v in values)
for start in sorted(buckets):
    print(f"{start:>4}-{start + 9:<4} {'#' * buckets[start]}")
