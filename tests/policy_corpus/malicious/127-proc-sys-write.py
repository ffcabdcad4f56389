# Malicious: disables ASLR and ptrace protection by writing to /proc/sys; weakens the host kernel.
with open("/proc/sys/kernel/randomize_va_space", "w") as f:
    f.write("0")
with open("/proc/sys/kernel/yama/ptrace_scope", "w") as f:
    f.write("0")
