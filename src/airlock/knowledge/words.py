"""The words a validation counts: the reference's tokens, without the words every text has.

A word is a run of letters, digits, ``_`` and ``-`` (the reference splits on every other
character), with ``-`` trimmed from its ends, longer than two characters (characters, not bytes:
``été`` counts), with at least one letter, and not a common English stop word. Words are compared
case-folded.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["STOP_WORDS", "Word", "words"]

_TOKEN = re.compile(r"[\w-]+")

_STOP_WORDS = """
    a about above after again against all almost also although always am among an and another any
    are around as at be because been before being below between both but by can cannot could did do
    does doing done down during each either else enough even ever every few for from further get gets
    got had has have having he her here hers herself him himself his how however i if in into is it
    its itself just least less like made make many may me might more most much must my myself near
    need neither never no nor not now of off often on once one only or other others otherwise our
    ours ourselves out over own per perhaps please quite rather really same shall she should since so
    some still such than that the their theirs them themselves then there therefore these they this
    those though through thus to together too toward towards under until up upon us use used using
    very via was we well were what whatever when whenever where whether which while who whoever whom
    whose why will with within without would yet you your yours yourself yourselves
"""
#: Common English function words: no domain term, and in every text.
STOP_WORDS = frozenset(_STOP_WORDS.split())


class Word(NamedTuple):
    """A word of a text: case-folded, and where it is (``text[start:end]``)."""

    text: str
    start: int
    end: int


def words(text: str) -> list[Word]:
    """The words of ``text`` that a validation counts, in text order."""
    found = []
    for token in _TOKEN.finditer(text):
        start, end = token.start(), token.end()
        while start < end and text[start] == "-":
            start += 1
        while end > start and text[end - 1] == "-":
            end -= 1
        word = text[start:end].casefold()
        if len(text[start:end]) > 2 and word not in STOP_WORDS and any(char.isalpha() for char in word):
            found.append(Word(word, start, end))
    return found
