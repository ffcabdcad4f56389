# Benign (near miss): `> file` creates an empty output file in the workspace, not a device.
> ./output.txt
echo "header" >> ./output.txt
cat ./output.txt
