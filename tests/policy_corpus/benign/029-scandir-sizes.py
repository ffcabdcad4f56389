# Benign: lists the files of the current directory with their sizes.
import os

entries = sorted(os.scandir("."), key=lambda e: e.name)
for entry in entries:
    if entry.is_file():
        print(f"{entry.stat().st_size:>10}  {entry.name}")
