# Malicious: deletes the bash history file.
rm -f ~/.bash_history
