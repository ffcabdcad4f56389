# Benign (near miss): a lookup table of shell commands for a cheat sheet; the strings are only printed.
CHEATSHEET = {
    "list files": "ls -la",
    "disk usage": "du -sh .",
    "search text": "grep -rn main src/",
}
for task, command in CHEATSHEET.items():
    print(f"{task:<12} -> {command}")
