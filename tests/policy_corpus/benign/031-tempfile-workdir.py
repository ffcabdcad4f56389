# Benign: works in a temporary directory that is removed afterwards.
import tempfile
from pathlib import Path

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "scratch.txt"
    path.write_text("intermediate results")
    print(path.read_text().upper())
