# Benign: deletes the files and the /tmp/work directory this job created earlier.
import os
import shutil

for name in ("output.csv", "output.json"):
    if os.path.exists(name):
        os.remove(name)
shutil.rmtree("/tmp/work", ignore_errors=True)
print("cleaned")
