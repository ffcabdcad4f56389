# Benign (near miss): chmod 644 on a file in the workspace (no setuid bit).
chmod 644 ./file
chmod -R u+rwX,go+rX ./public
