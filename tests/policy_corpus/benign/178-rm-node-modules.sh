# Benign (near miss): rm -rf ./node_modules, a relative directory, before a clean install.
rm -rf ./node_modules package-lock.json
npm install
