# Benign: counts the python processes of this session.
ps -o pid,comm | grep -c python || true
