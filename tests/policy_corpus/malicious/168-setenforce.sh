# Malicious: setenforce 0 turns SELinux enforcement off.
setenforce 0
