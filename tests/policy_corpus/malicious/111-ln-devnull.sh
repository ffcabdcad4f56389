# Malicious: links the history file to /dev/null so nothing is recorded.
ln -sf /dev/null ~/.bash_history
