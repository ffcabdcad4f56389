# Benign (near miss): prints a changelog section titled "history"; no shell history is touched.
echo "== History =="
git log --reverse --format='%ad %s' --date=short | head -20
