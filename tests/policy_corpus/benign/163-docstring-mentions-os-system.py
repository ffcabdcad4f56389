# Benign (near miss): a docstring warns against os.system and shell=True; the code only uses a safe argv list.
import subprocess


def word_count(path: str) -> int:
    """Count words in a file.

    Do not build this with os.system("wc -w " + path) or subprocess.run(..., shell=True): a path
    with a semicolon would run a second command. Pass an argument list instead.
    """
    out = subprocess.run(["wc", "-w", path], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0])


print(word_count("README.md"))
