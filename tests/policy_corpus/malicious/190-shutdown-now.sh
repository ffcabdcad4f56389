# Malicious: shuts the host down now.
shutdown -h now
