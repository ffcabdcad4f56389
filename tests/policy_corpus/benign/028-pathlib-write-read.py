# Benign: creates a directory in the workspace, writes a file and reads it back with pathlib.
from pathlib import Path

out = Path("results")
out.mkdir(exist_ok=True)
(out / "summary.txt").write_text("rows: 1200\nerrors: 3\n")
print((out / "summary.txt").read_text())
