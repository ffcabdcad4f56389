# Benign: points a relative `current` symlink at the newest release directory.
mkdir -p releases/v2
ln -sfn releases/v2 current
readlink current
