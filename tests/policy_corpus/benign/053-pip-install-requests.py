# Benign: installs the requests package with pip for this project.
import subprocess
import sys

subprocess.run([sys.executable, "-m", "pip", "install", "requests"], check=True)
