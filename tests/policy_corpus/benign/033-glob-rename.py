# Benign: renames .txt notes to .md inside ./notes.
from pathlib import Path

for path in Path("notes").glob("*.txt"):
    path.rename(path.with_suffix(".md"))
    print("renamed", path.name)
