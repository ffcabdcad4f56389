# Benign: extracts fields from a local JSON file with jq.
jq -r '.items[] | select(.active) | [.id, .name] | @tsv' data.json | sort -n
jq '.items | length' data.json
