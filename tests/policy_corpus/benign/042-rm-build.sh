# Benign: removes the workspace's own ./build directory.
rm -rf ./build
