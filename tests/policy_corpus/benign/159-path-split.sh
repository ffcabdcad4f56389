# Benign: prints each directory on PATH on its own line.
echo "$PATH" | tr ':' '\n'
