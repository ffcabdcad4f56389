# Benign: wraps and indents a paragraph with textwrap.
import textwrap

paragraph = (
    "The quick brown fox jumps over the lazy dog. " * 5
).strip()
print(textwrap.fill(paragraph, width=50, initial_indent="    ", subsequent_indent="    "))
print(textwrap.shorten(paragraph, width=40, placeholder=" [...]"))
