# Benign: the ten most frequent error messages of the workspace's log.
grep -h 'ERROR' logs/*.log | cut -d' ' -f4- | sort | uniq -c | sort -rn | head -10
