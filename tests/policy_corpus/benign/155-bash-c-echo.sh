# Benign: runs a trivial command in a child bash.
bash -c 'echo "hello from a subshell: $((6 * 7))"'
