# Benign: computes a few dates with GNU date.
today=$(date +%F)
yesterday=$(date -d "$today - 1 day" +%F)
echo "today=$today yesterday=$yesterday"
date -d '2024-03-01 + 30 days' +%A
