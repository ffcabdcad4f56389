# Benign: creates and then removes the job's own /tmp/work directory.
mkdir -p /tmp/work
echo "scratch" > /tmp/work/notes.txt
rm -rf /tmp/work
