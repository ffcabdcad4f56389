# Benign: lists the workspace, hidden files included.
ls -la
