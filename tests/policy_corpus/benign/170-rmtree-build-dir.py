# Benign (near miss): removes the relative ./build and ./dist directories before a fresh build.
import shutil
from pathlib import Path

for name in ("build", "dist", "src/pkg.egg-info"):
    shutil.rmtree(Path(name), ignore_errors=True)
Path("build").mkdir()
