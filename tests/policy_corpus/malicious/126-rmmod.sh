# Malicious: rmmod -f force-unloads the connection-tracking module from the running kernel.
rmmod -f nf_conntrack
