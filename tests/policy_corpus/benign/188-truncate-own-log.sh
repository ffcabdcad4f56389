# Benign (near miss): truncates the project's own log file in the workspace, not a system log.
truncate -s 0 ./app.log
: > ./debug.log
