"""Find a thesaurus's terms in a text: Aho-Corasick (``ahocorasick_rs``, over Rust's
``aho-corasick``), leftmost-longest, non-overlapping, case-insensitive, whole words by default.

    >>> matcher = Matcher(Thesaurus("t", {"rust": Concept(1, "rust")}))
    >>> [(m.term, m.start, m.end) for m in matcher.find("Rust, not trust")]
    [('rust', 0, 4)]

- Case: text and terms are case-folded (``str.casefold``); offsets are the original text's, also
  where folding lengthened a character (``Straße`` matches ``strasse``: 0..6).
- Whole words (the default): a term that begins (ends) with a word character matches only where
  the text has a word boundary before (after) it, as ``\\b`` in ``re``: ``rm`` is not found in
  ``format`` or ``rm_all``. Among the whole-word matches the leftmost wins, then the longest; the
  next match starts after it (terms ``new york`` and ``york city`` in ``new york city``: ``new
  york``). Scripts written without spaces between words (Chinese, Japanese, Thai) need
  ``whole_words=False``. ``whole_words=False`` is the reference's substring mode.
- Terms shorter than two characters are not matched (as the reference): in substring mode they
  would be found everywhere.
- ASCII text (the common case: code) is matched as bytes with the boundaries written into them
  (``folding.word_image``), so the automaton alone picks the matches. Other text is matched as
  ``str`` with a second automaton, built on first use: there, every occurrence is found and the
  whole-word ones chosen here, which is slower.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import ahocorasick_rs

from airlock.knowledge.folding import Folded, is_word_char, word_image
from airlock.knowledge.thesaurus import Concept, Thesaurus

__all__ = ["MIN_TERM_LENGTH", "Match", "Matcher"]

#: Terms shorter than this are never matched.
MIN_TERM_LENGTH = 2

_SURROGATE = re.compile("[\ud800-\udfff]")
_Hit = tuple[int, int, int]  # (term index, start, end) as the automaton gives them
_new = tuple.__new__


class Match(NamedTuple):
    """One occurrence: the term matched (normalised), its concept, and ``text[start:end]``."""

    term: str
    concept: Concept
    start: int
    end: int


class Matcher:
    """The terms of ``thesaurus``, ready to be found in texts (safe to share between threads)."""

    def __init__(self, thesaurus: Thesaurus, *, whole_words: bool = True) -> None:
        self.thesaurus = thesaurus
        self.whole_words = whole_words
        terms = tuple(sorted(term for term in thesaurus.terms if len(term) >= MIN_TERM_LENGTH))
        self._terms = terms
        self._concepts = [thesaurus.terms[term] for term in terms]
        ascii_terms = [term for term in terms if term.isascii()]
        self._ascii_terms = ascii_terms
        self._ascii_concepts = [thesaurus.terms[term] for term in ascii_terms]
        self._ascii = ahocorasick_rs.BytesAhoCorasick(
            _ascii_patterns(ascii_terms, whole_words), matchkind=ahocorasick_rs.MatchKind.LeftmostLongest
        )
        self._unicode: ahocorasick_rs.AhoCorasick | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Matcher {self.thesaurus.name!r}: {len(self._terms)} terms, whole_words={self.whole_words}>"

    @property
    def terms(self) -> tuple[str, ...]:
        """The terms it matches (sorted): the thesaurus's, but those too short."""
        return self._terms

    def find(self, text: str) -> list[Match]:
        """The terms in ``text``, in text order, none overlapping."""
        if not text or not self._terms:
            return []
        if text.isascii():
            data = text.lower().encode("ascii")
            hits = self._ascii.find_matches_as_indexes(word_image(data) if self.whole_words else data)
            terms, concepts = self._ascii_terms, self._ascii_concepts
            with _no_gc():  # a long text's matches are many tuples, none cyclic: collecting is waste
                # ``tuple.__new__`` skips the NamedTuple's own ``__new__`` (a Python function): a quarter faster.
                return [_new(Match, (terms[index], concepts[index], start, end)) for index, start, end in hits]
        return self._find_unicode(text)

    def concepts(self, text: str) -> list[Concept]:
        """The concepts named in ``text``, each once, in the order they first appear."""
        return list(dict.fromkeys(match.concept for match in self.find(text)))

    def _find_unicode(self, text: str) -> list[Match]:
        folded = Folded(text)
        automaton = self._unicode_automaton()
        try:
            hits = automaton.find_matches_as_indexes(folded.text, overlapping=self.whole_words)
        except UnicodeEncodeError:  # a lone surrogate: in no term; a stand-in of the same length keeps offsets
            folded.text = _SURROGATE.sub("\ufffd", folded.text)
            hits = automaton.find_matches_as_indexes(folded.text, overlapping=self.whole_words)
        if self.whole_words:
            hits = _leftmost_longest([hit for hit in hits if self._on_boundaries(folded.text, hit)])
        terms, concepts = self._terms, self._concepts
        return [Match(terms[i], concepts[i], folded.start(start), folded.end(end)) for i, start, end in hits]

    def _unicode_automaton(self) -> ahocorasick_rs.AhoCorasick:
        with self._lock:
            if self._unicode is None:
                kind = (
                    ahocorasick_rs.MatchKind.Standard if self.whole_words else ahocorasick_rs.MatchKind.LeftmostLongest
                )
                self._unicode = ahocorasick_rs.AhoCorasick(self._terms, matchkind=kind)
            return self._unicode

    def _on_boundaries(self, text: str, hit: _Hit) -> bool:
        term, start, end = self._terms[hit[0]], hit[1], hit[2]
        if is_word_char(term[0]) and start > 0 and is_word_char(text[start - 1]):
            return False
        return not (is_word_char(term[-1]) and end < len(text) and is_word_char(text[end]))


@contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused (as it was before, after)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _ascii_patterns(terms: list[str], whole_words: bool) -> list[bytes]:
    """The patterns of the ASCII automaton: each term as the text will look where it matches."""
    encoded = [term.encode("ascii") for term in terms]
    if not whole_words or not encoded:
        return encoded
    if any(b"\n" in pattern for pattern in encoded):  # imaged one by one: slower, same result
        return [word_image(pattern) for pattern in encoded]
    return word_image(b"\n".join(encoded)).split(b"\n")  # a newline is no word: the edges image alike


def _leftmost_longest(hits: list[_Hit]) -> list[_Hit]:
    """Of overlapping matches, the leftmost, then the longest; then the same after its end."""
    chosen: list[_Hit] = []
    end = 0
    for hit in sorted(hits, key=lambda hit: (hit[1], -hit[2])):
        if hit[1] >= end:
            chosen.append(hit)
            end = hit[2]
    return chosen
