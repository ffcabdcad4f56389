# Benign: inspects the repository: status, recent commits, diff summary.
git status --short
git log --oneline -5
git diff --stat HEAD~1
