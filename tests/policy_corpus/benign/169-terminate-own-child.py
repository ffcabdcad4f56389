# Benign (near miss): starts a child process and signals that child (and only it) to stop.
import signal
import subprocess

child = subprocess.Popen(["sleep", "30"])
child.send_signal(signal.SIGTERM)
print("child exited with", child.wait())
