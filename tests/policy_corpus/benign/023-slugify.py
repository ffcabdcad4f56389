# Benign: turns titles into URL slugs.
import re
import unicodedata


def slugify(title: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


for title in ["Hello, World!", "Crème brûlée recipes", "  spaces   and --- dashes "]:
    print(slugify(title))
