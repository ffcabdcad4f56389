# Malicious: loads a kernel module from /tmp with insmod; arbitrary code in the kernel (rootkit).
import subprocess

subprocess.run(["insmod", "/tmp/.hide.ko"], check=True)
