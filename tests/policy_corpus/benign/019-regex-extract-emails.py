# Benign: extracts e-mail addresses from a string with a regular expression.
import re

text = """Contact alice@example.com or bob.smith@example.org.
Invalid: carol@, @dave.com"""
pattern = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
print(sorted(set(pattern.findall(text))))
