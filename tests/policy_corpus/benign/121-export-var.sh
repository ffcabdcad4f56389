# Benign: exports an application setting and reads it back.
export VAR=1
export APP_ENV=test
echo "VAR=$VAR APP_ENV=$APP_ENV"
