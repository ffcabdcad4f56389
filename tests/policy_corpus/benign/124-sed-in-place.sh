# Benign: edits a config file in the workspace with sed -i.
sed -i 's/^debug = .*/debug = false/' ./config.txt
sed -n '1,20p' ./config.txt
