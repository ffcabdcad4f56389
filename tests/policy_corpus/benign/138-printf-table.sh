# Benign: prints an aligned table with printf.
printf '%-10s %8s\n' NAME SCORE
printf '%-10s %8.1f\n' alice 91.5 bob 78.25 carol 88
