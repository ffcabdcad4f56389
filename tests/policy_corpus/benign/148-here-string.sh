# Benign: reads fields from a here-string.
read -r width height <<< "1920 1080"
echo "pixels: $((width * height))"
IFS=: read -r user _ <<< "alice:x:1000"
echo "user=$user"
