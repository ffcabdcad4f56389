# Benign: reads git status and the last commits of the workspace repository.
import subprocess

status = subprocess.run(["git", "status", "--short"], capture_output=True, text=True)
log = subprocess.run(["git", "log", "--oneline", "-5"], capture_output=True, text=True)
print(status.stdout or "clean")
print(log.stdout)
