# Benign: normalises a text file: lower case, one word per line, wrapped output.
tr '[:upper:]' '[:lower:]' < essay.txt | tr -s '[:space:]' '\n' | sort -u > words.txt
fold -w 72 -s essay.txt > essay.wrapped.txt
wc -l words.txt essay.wrapped.txt
