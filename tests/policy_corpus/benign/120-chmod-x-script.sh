# Benign: makes the workspace's own script executable and runs it.
chmod +x ./script.sh
./script.sh --dry-run
