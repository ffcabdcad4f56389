"""Fenced code blocks in an LLM reply: ```python ... ```, ```js ...```, ```bash ...``` and the like."""

from __future__ import annotations

import re
from dataclasses import dataclass

from airlock.errors import UnknownLanguage
from airlock.languages import get_language

__all__ = ["CodeBlock", "extract_code_blocks"]

# An opening fence of three or more backticks or tildes, an info string, the body, the same fence.
_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)


@dataclass(frozen=True)
class CodeBlock:
    """One fenced block; ``language`` is Airlock's name for it, or None when it names no runnable one."""

    tag: str
    language: str | None
    code: str
    index: int


def extract_code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced block in ``text``, in order, with the language its tag names (if Airlock runs it)."""
    blocks = []
    for index, match in enumerate(_FENCE.finditer(text)):
        tag = match["info"].strip().split()[0].lower() if match["info"].strip() else ""
        try:
            language: str | None = get_language(tag).name if tag else None
        except UnknownLanguage:
            language = None
        blocks.append(CodeBlock(tag=tag, language=language, code=match["body"], index=index))
    return blocks
