# Benign: installs locked dependencies and runs the tests.
npm ci
npm test
