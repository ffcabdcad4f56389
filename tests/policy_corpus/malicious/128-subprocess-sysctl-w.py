# Malicious: sysctl -w to turn on IP forwarding and turn off reverse-path filtering on the host.
import subprocess

subprocess.run(["sysctl", "-w", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0"])
