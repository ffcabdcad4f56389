# Benign: starts three worker processes, then stops each of them by its own pid.
import os
import signal
import subprocess
import sys

workers = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) for _ in range(3)]
for worker in workers:
    os.kill(worker.pid, signal.SIGTERM)
    worker.wait()
