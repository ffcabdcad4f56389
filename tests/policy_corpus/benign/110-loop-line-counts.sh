# Benign: counts the lines of every .txt file in the current directory.
for f in ./*.txt; do
  [ -e "$f" ] || continue
  printf '%6d %s\n' "$(wc -l < "$f")" "$f"
done
