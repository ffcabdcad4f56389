# Benign: downloads a CSV data set to the workspace with wget.
mkdir -p data
wget -q https://example.com/datasets/cities.csv -O data/cities.csv
wc -l data/cities.csv
