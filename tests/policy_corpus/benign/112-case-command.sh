# Benign: dispatches on a sub-command with case.
cmd="${1:-help}"
case "$cmd" in
  build) echo "building" ;;
  test | check) echo "testing" ;;
  clean) echo "cleaning ./build"; rm -rf ./build ;;
  *) echo "usage: $0 {build|test|clean}" ;;
esac
