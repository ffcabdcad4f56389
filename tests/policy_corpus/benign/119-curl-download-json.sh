# Benign: downloads JSON to a file with curl (saved, not piped to a shell) and inspects it.
curl -s https://api.example.com/data -o data.json
head -c 200 data.json
