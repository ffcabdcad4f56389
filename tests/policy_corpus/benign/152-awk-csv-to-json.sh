# Benign: converts a two-column CSV into JSON lines with awk.
awk -F, 'NR > 1 { printf "{\"name\": \"%s\", \"value\": %s}\n", $1, $2 }' pairs.csv > pairs.jsonl
wc -l pairs.jsonl
