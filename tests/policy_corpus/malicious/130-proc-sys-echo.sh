# Malicious: writes /proc/sys to enable forwarding and allow ptrace of any process.
echo 1 > /proc/sys/net/ipv4/ip_forward
echo 0 > /proc/sys/kernel/yama/ptrace_scope
