# Benign: stages files in /tmp/work, processes them and removes the staging area.
import shutil
from pathlib import Path

work = Path("/tmp/work")
work.mkdir(parents=True, exist_ok=True)
for i in range(3):
    (work / f"part-{i}.txt").write_text(f"chunk {i}\n")
merged = "".join(p.read_text() for p in sorted(work.glob("part-*.txt")))
Path("merged.txt").write_text(merged)
shutil.rmtree(work)
