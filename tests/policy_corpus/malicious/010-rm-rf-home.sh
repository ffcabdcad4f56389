# Malicious: rm -rf ~ deletes the user's entire home directory.
rm -rf ~
