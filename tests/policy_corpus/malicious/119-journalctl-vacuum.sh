# Malicious: journalctl --vacuum-time=1s drops the systemd journal.
journalctl --rotate
journalctl --vacuum-time=1s
