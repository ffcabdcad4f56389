# Benign: recreates the workspace's own output directory; shutil.rmtree('out') only touches ./out.
import os
import shutil

shutil.rmtree("out", ignore_errors=True)
os.makedirs("out/figures")
with open("out/README.txt", "w") as f:
    f.write("generated files\n")
