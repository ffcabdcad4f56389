# Benign (near miss): rm -rf "$TMPDIR/cache" where TMPDIR was just set to a directory under /tmp.
export TMPDIR=/tmp/job-42
mkdir -p "$TMPDIR/cache"
echo "cached" > "$TMPDIR/cache/item"
rm -rf "$TMPDIR/cache"
