# Malicious, obfuscated: \rm bypasses aliases and naive matching; rm -rf /.
\rm -rf /
