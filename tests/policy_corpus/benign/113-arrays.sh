# Benign: indexed arrays: append, iterate, length and slices.
fruits=(apple banana cherry)
fruits+=(date)
echo "count: ${#fruits[@]}"
for i in "${!fruits[@]}"; do
  echo "$i: ${fruits[$i]}"
done
echo "middle: ${fruits[*]:1:2}"
