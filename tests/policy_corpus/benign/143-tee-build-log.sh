# Benign: runs the build and keeps a copy of the output in build.log.
set -o pipefail
./build.sh 2>&1 | tee build.log
