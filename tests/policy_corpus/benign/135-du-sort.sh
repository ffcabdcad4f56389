# Benign: sizes of the workspace's entries, largest first.
du -sh ./* 2>/dev/null | sort -rh | head -20
