# Benign: runs the workspace's test suite with `python -m pytest`.
import subprocess
import sys

completed = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests"], capture_output=True, text=True)
print(completed.stdout[-2000:])
print("exit code", completed.returncode)
