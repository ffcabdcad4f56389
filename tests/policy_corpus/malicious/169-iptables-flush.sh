# Malicious: flushes every firewall rule and accepts everything.
iptables -F && iptables -X && iptables -P INPUT ACCEPT && iptables -P OUTPUT ACCEPT
