# Benign: groups workspace files by directory with basename and dirname.
find ./src -type f -name '*.js' | while read -r file; do
  printf '%s\t%s\n' "$(dirname "$file")" "$(basename "$file" .js)"
done | sort | awk -F'\t' '{ print $1 ": " $2 }'
