# Benign (near miss): kills the PID of a background task this script started, not other processes.
python3 long_task.py > task.log 2>&1 &
task=$!
sleep 5
kill "$task" 2>/dev/null || true
tail -3 task.log
