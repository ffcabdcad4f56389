# Benign: lists the workspace with subprocess.run(['ls', '-l']).
import subprocess

result = subprocess.run(["ls", "-l"], capture_output=True, text=True, check=True)
print(result.stdout)
