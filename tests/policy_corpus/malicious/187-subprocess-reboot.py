# Malicious: forces an immediate reboot with systemctl.
import subprocess

subprocess.run(["systemctl", "reboot", "--force"])
