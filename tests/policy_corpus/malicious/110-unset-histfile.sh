# Malicious: unset HISTFILE so the commands that follow leave no trace.
unset HISTFILE
cat /etc/passwd
