# Malicious: history -c and -w clear the shell history to hide what ran.
history -c
history -w
