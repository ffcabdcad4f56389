# Malicious: sysctl -w disables address-space randomisation on the host.
sysctl -w kernel.randomize_va_space=0
