"""Text as the matcher reads it: case-folded, with the way back to the original's offsets, and
(for ASCII) with word boundaries written into the bytes so the automaton itself respects them.

Case folding can lengthen a text: ``"ß"`` folds to ``"ss"``, ``"İ"`` to ``"i̇"`` (an ``i`` and a
combining dot), ``"ﬁ"`` to ``"fi"``. ``Folded`` keeps where each such character went, so an
offset into the folded text maps back into the original: a match that begins inside an expanded
character begins at that character, one that ends inside it ends after it.

The word image (ASCII only): a word character (``[a-z0-9_]``) that begins a word gets bit 0x80
set, one that ends a word has bit 0x20 flipped (a letter becomes upper case, a digit or ``_``
becomes a control byte: the control bytes that could be taken for those are first moved to unused
bytes 0x80-0x8a). Every byte value then says one character and its two marks. A term imaged alone
carries the same marks at its edges, so it can only match a text where it starts and ends on word
boundaries (``\\b`` in ``re``); inside the term the marks agree with the text's because they depend
only on neighbouring characters, which the match shares.
"""

from __future__ import annotations

import re
from bisect import bisect_right

__all__ = ["Folded", "is_word_char", "word_image"]

#: ``bytes.translate`` tables: 1 for the bytes of ASCII words, 0 for the rest; and the reverse.
_WORD = bytes(1 if chr(b).isascii() and (chr(b).isalnum() or chr(b) == "_") else 0 for b in range(256))
_NOT_WORD = bytes(1 - bit for bit in _WORD)
#: Control bytes that a marked digit or ``_`` becomes (0x10-0x19, 0x7f), moved out of their way.
_MOVE_CONTROLS = bytes.maketrans(bytes([*range(0x10, 0x1A), 0x7F]), bytes(range(0x80, 0x8B)))


def is_word_char(char: str) -> bool:
    """A character of a word, as ``\\w`` in ``re``: a letter, a digit (any script) or ``_``."""
    return char.isalnum() or char == "_"


def word_image(data: bytes) -> bytes:
    """Lower-case ASCII bytes with the first and last character of every word marked (see above):
    a word byte whose neighbour on the left (right) is not a word byte begins (ends) a word."""
    if not data:
        return data
    if len(data) >= _VECTOR_FROM:
        return _word_image_vector(data)
    size = len(data)
    data = data.translate(_MOVE_CONTROLS)
    # Whole-text integer arithmetic, one bit per byte: the byte on the left moves right by 8 bits.
    word = int.from_bytes(data.translate(_WORD), "big")
    other = int.from_bytes(data.translate(_NOT_WORD), "big")
    starts = word & ((other >> 8) | (1 << 8 * (size - 1)))
    ends = word & ((other << 8) | 1)
    marked = int.from_bytes(data, "big") ^ (starts << 7) ^ (ends << 5)
    return marked.to_bytes(size, "big")


#: From this size on, ``word_image`` works with numpy arrays: three times faster on megabytes, but
#: not worth numpy's import for the few kilobytes of a command or a script.
_VECTOR_FROM = 256 * 1024


def _word_image_vector(data: bytes) -> bytes:
    import numpy as np  # here: only large texts need it, and it takes ~0.1 s to import

    text = np.frombuffer(data.translate(_MOVE_CONTROLS), dtype=np.uint8)
    word = np.frombuffer(data.translate(_WORD), dtype=np.uint8)  # 1 for a word byte (as _MOVE_CONTROLS keeps them)
    marks = np.zeros(len(word), dtype=np.uint8)
    marks[0] = word[0]
    np.greater(word[1:], word[:-1], out=marks[1:])  # a word byte after a non-word byte: a start
    marks <<= 7
    ends = np.zeros(len(word), dtype=np.uint8)
    ends[-1] = word[-1]
    np.greater(word[:-1], word[1:], out=ends[:-1])  # a word byte before a non-word byte: an end
    ends <<= 5
    marks |= ends
    marks ^= text
    return marks.tobytes()


class Folded:
    """A text case-folded (``text``), and the map from its offsets back to the original's."""

    __slots__ = ("_at", "_breaks", "text")

    def __init__(self, original: str) -> None:
        self.text = original.casefold()
        self._breaks: list[int] = []  # folded offset where each lengthened character begins
        self._at: list[tuple[int, int]] = []  # (its offset in the original, its folded length)
        if len(self.text) != len(original):
            self._index(original)

    def _index(self, original: str) -> None:
        longer = "".join(sorted(char for char in set(original) if len(char.casefold()) != 1))
        shift = 0
        for found in re.finditer(f"[{re.escape(longer)}]", original):
            size = len(found[0].casefold())
            self._breaks.append(found.start() + shift)
            self._at.append((found.start(), size))
            shift += size - 1

    def start(self, offset: int) -> int:
        """The original offset of the character that holds folded ``offset``."""
        index = bisect_right(self._breaks, offset) - 1
        if index < 0:
            return offset
        where, size = self._at[index]
        inside = offset - self._breaks[index]
        return where if inside < size else where + 1 + inside - size

    def end(self, offset: int) -> int:
        """The original offset just past the character that holds folded ``offset - 1``."""
        return self.start(offset - 1) + 1 if offset > 0 else 0
