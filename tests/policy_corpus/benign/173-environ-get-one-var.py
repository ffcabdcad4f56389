# Benign (near miss): reads one setting from the environment with a default; nothing leaves the process.
import os

debug = os.environ.get("APP_DEBUG", "0") == "1"
workers = int(os.environ.get("APP_WORKERS", "4"))
print(f"debug={debug} workers={workers} home={os.path.expanduser('~')}")
