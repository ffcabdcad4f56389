# Benign: [[ ]] tests on files, strings and regexes.
file="data.csv"
if [[ -f "$file" && -s "$file" ]]; then
  echo "$file has data"
elif [[ -e "$file" ]]; then
  echo "$file is empty"
else
  echo "$file is missing"
fi
version="3.11.4"
if [[ $version =~ ^([0-9]+)\.([0-9]+) ]]; then
  echo "major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}"
fi
