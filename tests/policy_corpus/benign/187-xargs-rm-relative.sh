# Benign (near miss): xargs rm -f on log files found under ./logs.
find ./logs -name '*.log' -mtime +7 -print0 | xargs -0 rm -f
