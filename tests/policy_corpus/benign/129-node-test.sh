# Benign: runs Node's built-in test runner.
node --test test/
