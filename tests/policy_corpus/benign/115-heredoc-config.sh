# Benign: writes a config file in the workspace from a here-document.
mkdir -p config
cat > config/app.ini <<EOF
[server]
host = 127.0.0.1
port = 8080
user = ${USER:-agent}
EOF
cat config/app.ini
