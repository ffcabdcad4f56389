# Benign: joins two sorted files on their first field.
sort -k1,1 names.txt > names.sorted
sort -k1,1 scores.txt > scores.sorted
join names.sorted scores.sorted | column -t
