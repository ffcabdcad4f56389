# Benign (near miss): searches the project's source for hard-coded passwords (a code review check).
grep -rn --include='*.py' -i 'password *=' ./src || echo "no hard-coded passwords"
