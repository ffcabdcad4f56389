# Benign: the ten most common words of a local Markdown file.
import re
from collections import Counter

text = open("README.md", encoding="utf-8").read().lower()
words = re.findall(r"[a-z']+", text)
for word, count in Counter(words).most_common(10):
    print(f"{count:5d} {word}")
