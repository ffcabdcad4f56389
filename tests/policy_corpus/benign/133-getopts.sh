# Benign: parses options with getopts.
verbose=0
output="out.txt"
while getopts "vo:" opt; do
  case "$opt" in
    v) verbose=1 ;;
    o) output="$OPTARG" ;;
    *) echo "usage: $0 [-v] [-o file]"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
echo "verbose=$verbose output=$output rest=$*"
