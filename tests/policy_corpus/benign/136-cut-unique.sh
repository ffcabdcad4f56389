# Benign: the distinct values of the second CSV column.
cut -d, -f2 data.csv | tail -n +2 | sort | uniq
