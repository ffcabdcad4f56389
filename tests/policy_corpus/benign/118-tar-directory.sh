# Benign: archives a workspace directory with tar and lists the archive.
tar czf out.tgz ./dir
tar tzf out.tgz | head
