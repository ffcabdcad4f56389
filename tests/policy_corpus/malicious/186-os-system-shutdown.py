# Malicious: shuts the host down immediately.
import os

os.system("shutdown -h now")
