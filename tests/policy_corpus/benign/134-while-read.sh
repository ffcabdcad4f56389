# Benign: reads a CSV line by line with while read.
while IFS=, read -r name qty price; do
  [[ $name == name ]] && continue
  echo "$name: $((qty)) x $price"
done < inventory.csv
