# Benign: a here-document feeding harmless Python (a sum) to the interpreter.
python3 - <<'EOF'
values = [1, 2, 3, 4]
print("sum:", sum(values))
EOF
