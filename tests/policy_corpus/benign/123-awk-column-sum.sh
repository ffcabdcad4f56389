# Benign: sums and averages a CSV column with awk.
awk -F, 'NR > 1 { total += $3; n++ } END { printf "total=%.2f mean=%.2f\n", total, total / n }' sales.csv
