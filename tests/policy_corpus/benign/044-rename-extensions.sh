# Benign: renames .jpeg files to .jpg in the current directory.
for f in ./*.jpeg; do
  [ -e "$f" ] || continue
  mv -- "$f" "${f%.jpeg}.jpg"
done
