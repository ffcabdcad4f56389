"""Fenced code blocks in a model's reply, and which of them Airlock runs.

Blocks are found by CommonMark's rules for fenced code: an opening fence of three or more backticks
or tildes, indented by at most three spaces, then an info string whose first word is the tag (a
backtick fence's info string may not contain a backtick). The block ends at the first line that is
only a fence of the same character, at least as long as the opening one, indented by at most three
spaces; so a block fenced by four backticks can show one fenced by three inside it. Up to as many
spaces as the opening fence was indented are taken off each line of the body. Line breaks may be
``\\n``, ``\\r\\n`` or ``\\r``; the code always uses ``\\n``. Fences inside block quotes or list items
are not looked for.

Which blocks run (``CodeBlock.language`` is set; otherwise ``skip_reason`` says why not):

* a tag that names a language Airlock runs, by its name or an alias (``py``, ``python3``, ``js``,
  ``node``, ``sh``, ``shell``, ``rs``, ``golang``, ...; see ``airlock.languages``), or ``repl`` (the
  RLM paper's tag, meaning Python). Tags are case-insensitive.
* an **unlabeled** block runs in the caller's ``default_language`` when one is given; without one it
  is skipped, never guessed at.
* any other tag (``text``, ``json``, ``diff``, ``console``, ``zsh``, ...) is skipped: it is output,
  data or a language Airlock does not have.
* an **unterminated** block (the reply ends before its closing fence) runs to the end of the reply,
  as CommonMark says, and is reported but never run: it is what a reply cut off at its token limit
  looks like, and half a program must not run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airlock.errors import UnknownLanguage
from airlock.languages import get_language

__all__ = ["BLOCK_ALIASES", "CodeBlock", "extract_code_blocks"]

#: Tags that name a language in replies but are not its aliases elsewhere in Airlock.
BLOCK_ALIASES: dict[str, str] = {"repl": "python", "py3": "python"}

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_OPENING = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class CodeBlock:
    """One fenced block. ``language`` is Airlock's name for the language it runs in, or None when it
    is not to be run, and then ``skip_reason`` says why. ``tag`` is the info string's first word,
    lower-cased ("" when unlabeled); ``index`` counts all blocks of the reply from 0, ``line`` is the
    opening fence's line from 1."""

    tag: str
    language: str | None
    code: str
    index: int
    line: int = 1
    closed: bool = True
    skip_reason: str | None = None


def extract_code_blocks(text: str, *, default_language: str | None = None) -> list[CodeBlock]:
    """Every fenced block in ``text``, in order, with the language it runs in (see the module's rules).
    ``default_language`` (a name or alias) is for unlabeled blocks; an unknown one raises
    ``UnknownLanguage``."""
    default = _runs_in(default_language) if default_language else None
    lines = _LINE_BREAK.split(text)
    if lines[-1] == "":
        lines.pop()  # the text ended with a line break
    blocks: list[CodeBlock] = []
    start = 0
    while start < len(lines):
        opening = _opening(lines[start])
        if opening is None:
            start += 1
            continue
        indent, fence, tag = opening
        end = _closing_line(lines, start + 1, fence)
        body = [_dedent(line, indent) for line in lines[start + 1 : end]]
        closed = end < len(lines)
        language, reason = _language(tag, default) if closed else (None, _UNTERMINATED)
        code = "".join(line + "\n" for line in body)
        blocks.append(CodeBlock(tag, language, code, len(blocks), start + 1, closed, reason))
        start = end + 1
    return blocks


_UNTERMINATED = "unterminated: the reply ends inside this block (cut off at its token limit?)"


def _opening(line: str) -> tuple[int, str, str] | None:
    """(indent, fence, tag) when ``line`` opens a fenced block."""
    match = _OPENING.match(line)
    if match is None or (match["fence"][0] == "`" and "`" in match["info"]):
        return None
    words = match["info"].split()
    return len(match["indent"]), match["fence"], words[0].lower() if words else ""


def _closing_line(lines: list[str], start: int, fence: str) -> int:
    """The index of the line that closes ``fence`` from ``start`` on; ``len(lines)`` when none does."""
    closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
    return next((i for i in range(start, len(lines)) if closing.match(lines[i])), len(lines))


def _dedent(line: str, indent: int) -> str:
    stripped = line.lstrip(" ")
    return line[min(indent, len(line) - len(stripped)) :]


def _language(tag: str, default: str | None) -> tuple[str | None, str | None]:
    """The language a block with this tag runs in, or None and the reason it does not run."""
    if not tag:
        if default is None:
            return None, "unlabeled, and no default language was given"
        return default, None
    try:
        return _runs_in(tag), None
    except UnknownLanguage:
        return None, f"{tag!r} is not a language Airlock runs"


def _runs_in(name: str) -> str:
    name = name.lower()
    return get_language(BLOCK_ALIASES.get(name, name)).name
