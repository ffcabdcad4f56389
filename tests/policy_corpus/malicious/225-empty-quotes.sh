# Malicious, obfuscated: r''m is rm with an empty quoted string inside it; rm -rf /.
r''m -rf /
