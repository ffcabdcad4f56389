# Benign: compresses files in parallel background jobs and waits for them.
for f in logs/*.log; do
  gzip -k "$f" &
done
wait
echo "all compressed"
