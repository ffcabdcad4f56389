# Benign (near miss): a mktemp directory removed by an EXIT trap; rm -rf only touches what mktemp made.
tmpdir=$(mktemp -d)
trap 'rm -rf "$tmpdir"' EXIT
echo "working in $tmpdir"
sort data.csv > "$tmpdir/sorted.csv"
head -3 "$tmpdir/sorted.csv"
