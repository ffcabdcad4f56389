# Benign (near miss): kill %1 stops this script's own background job.
sleep 60 &
echo "started job $!"
kill %1
wait || true
