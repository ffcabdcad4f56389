# Benign: extracts an archive into ./extracted.
unzip -o archive.zip -d ./extracted
find ./extracted -type f | head
