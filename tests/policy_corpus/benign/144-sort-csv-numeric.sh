# Benign: the five rows with the highest value in column 3.
sort -t, -k3 -nr data.csv | head -5
