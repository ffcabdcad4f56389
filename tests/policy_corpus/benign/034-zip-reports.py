# Benign: zips the workspace's reports directory.
import zipfile
from pathlib import Path

with zipfile.ZipFile("reports.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
    for path in Path("reports").rglob("*"):
        if path.is_file():
            archive.write(path)
print(zipfile.ZipFile("reports.zip").namelist())
