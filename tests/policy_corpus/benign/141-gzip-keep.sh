# Benign: compresses a data file keeping the original.
gzip -k -9 data.csv
ls -l data.csv data.csv.gz
