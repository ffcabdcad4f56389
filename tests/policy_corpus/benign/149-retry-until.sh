# Benign: waits for a web API to become healthy, retrying with a delay.
tries=0
until curl -sf https://api.example.com/health >/dev/null; do
  tries=$((tries + 1))
  if [ "$tries" -ge 10 ]; then
    echo "giving up"
    exit 1
  fi
  sleep 2
done
echo "healthy after $tries retries"
