# Benign (near miss): base64-encodes and decodes data to a file; the decoded text is never run.
echo 'hello, world' | base64 > greeting.b64
base64 -d greeting.b64 > greeting.txt
cat greeting.txt
