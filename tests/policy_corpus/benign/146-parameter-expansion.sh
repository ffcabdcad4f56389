# Benign: path manipulation with parameter expansion.
path="/workspace/reports/2024/summary.final.csv"
echo "dir:  ${path%/*}"
echo "file: ${path##*/}"
echo "stem: ${path%%.*}"
echo "ext:  ${path##*.}"
name="${path##*/}"
echo "upper: ${name^^}"
