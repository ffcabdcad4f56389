# Benign (near miss): find . -delete on compiled Python files under the current directory only.
find . -name '*.pyc' -delete
find . -type d -name __pycache__ -empty -delete
