# Benign: a unified diff of two text files in the workspace.
import difflib

old = open("v1/config.txt").read().splitlines(keepends=True)
new = open("v2/config.txt").read().splitlines(keepends=True)
print("".join(difflib.unified_diff(old, new, fromfile="v1/config.txt", tofile="v2/config.txt")))
