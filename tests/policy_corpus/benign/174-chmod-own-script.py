# Benign (near miss): writes a helper script in the workspace and makes it executable (0o755, no setuid).
import os
from pathlib import Path

script = Path("run.sh")
script.write_text("#!/bin/sh\necho running\n")
os.chmod(script, 0o755)
print(oct(script.stat().st_mode & 0o777))
