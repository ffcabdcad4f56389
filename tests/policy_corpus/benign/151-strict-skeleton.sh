# Benign: a strict-mode script skeleton with a usage message.
set -euo pipefail
IFS=$'\n\t'

usage() { echo "usage: $0 INPUT" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
input="$1"
echo "processing $input ($(wc -l < "$input") lines)"
