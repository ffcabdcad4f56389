# Benign: arithmetic with seq and $(( )).
total=0
for i in $(seq 1 10); do
  total=$((total + i * i))
done
echo "sum of squares: $total"
echo "scale=3; 22/7" | bc
