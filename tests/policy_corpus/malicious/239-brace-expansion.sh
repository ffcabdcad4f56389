# Malicious, obfuscated: {rm,-rf,~} brace-expands into rm -rf ~.
{rm,-rf,~}
