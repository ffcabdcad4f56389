# Benign: counts ERROR lines per module in the workspace's app.log.
import re
from collections import Counter

errors = Counter()
with open("logs/app.log") as log:
    for line in log:
        match = re.search(r"ERROR \[(\w+)\]", line)
        if match:
            errors[match.group(1)] += 1
print(errors.most_common())
