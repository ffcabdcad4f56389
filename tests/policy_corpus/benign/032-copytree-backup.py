# Benign: copies the workspace's src directory into backup/ before a refactor.
import shutil
from datetime import datetime

stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
shutil.copytree("src", f"backup/src-{stamp}")
print("backed up to", f"backup/src-{stamp}")
