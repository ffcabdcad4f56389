# Benign: splits a large CSV into 1000-line parts in ./parts, keeping the header in each.
mkdir -p parts
header=$(head -1 big.csv)
tail -n +2 big.csv | split -l 1000 - parts/chunk_
for part in parts/chunk_*; do
  { echo "$header"; cat "$part"; } > "$part.csv" && rm -f "$part"
done
ls parts | wc -l
