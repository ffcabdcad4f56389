# Benign: word counts with an associative array.
declare -A counts
while read -r word; do
  counts[$word]=$(( ${counts[$word]:-0} + 1 ))
done < <(tr -cs '[:alnum:]' '\n' < notes.txt | tr '[:upper:]' '[:lower:]')
for w in "${!counts[@]}"; do
  echo "${counts[$w]} $w"
done | sort -rn | head
