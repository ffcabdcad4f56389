# Benign: prints the home directory, the date and the working directory.
echo "$HOME"
date
date -u +%Y-%m-%dT%H:%M:%SZ
pwd
