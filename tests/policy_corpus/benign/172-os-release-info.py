# Benign (near miss): reads /etc/os-release to print the distribution name; not a secret file.
import platform

info = platform.freedesktop_os_release()
print(info.get("PRETTY_NAME", "unknown"), platform.python_version())
