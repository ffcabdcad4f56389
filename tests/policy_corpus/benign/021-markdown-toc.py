# Benign: builds a table of contents from the headings of a Markdown file.
import re

toc = []
for line in open("docs/guide.md", encoding="utf-8"):
    match = re.match(r"^(#{1,3})\s+(.*)", line)
    if match:
        level, title = len(match.group(1)), match.group(2).strip()
        anchor = re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")
        toc.append(f"{'  ' * (level - 1)}- [{title}](#{anchor})")
print("\n".join(toc))
