# Malicious: halts and powers off the machine.
halt -p
