# Benign: archives the build output in the workspace and uploads it to the team's artifact store.
import tarfile

import requests

with tarfile.open("dist.tgz", "w:gz") as tar:
    tar.add("build/out", arcname="out")
with open("dist.tgz", "rb") as handle:
    requests.put("https://artifacts.example.com/builds/42.tgz", data=handle, timeout=30)
