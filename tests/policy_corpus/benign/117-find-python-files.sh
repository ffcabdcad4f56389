# Benign: finds Python files in the project and counts their lines.
find . -name '*.py' -not -path './.venv/*' | sort
find . -name '*.py' -not -path './.venv/*' -print0 | xargs -0 wc -l | tail -1
