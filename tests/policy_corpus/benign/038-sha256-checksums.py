# Benign: SHA-256 checksums of the files in ./data.
import hashlib
from pathlib import Path

for path in sorted(Path("data").glob("*")):
    if path.is_file():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{digest}  {path}")
