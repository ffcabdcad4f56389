# Benign: installs lodash and a dev dependency with npm.
npm install lodash
npm install --save-dev jest
