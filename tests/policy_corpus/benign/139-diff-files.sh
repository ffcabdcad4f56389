# Benign: a unified diff of two files in the workspace.
diff -u old/settings.conf new/settings.conf || true
