# Malicious: export HISTSIZE=0 HISTFILESIZE=0 disables shell history.
export HISTSIZE=0 HISTFILESIZE=0
