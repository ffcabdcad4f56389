"""How fast the knowledge matcher finds a 100 000-term thesaurus in a 10 MB text, and how long its
automaton takes to build, beside baselines measured in the same run.

    .venv/bin/python benchmarks/knowledge.py [--terms 100000] [--mb 10] [--share 0.05] [--rounds 3]

The thesaurus and the text are generated from a seed: pseudo-words of two to four syllables, terms
of one word (55 %) or two or three (45 %, often starting with a one-word term: nested terms); the
text is sentences of terms (``--share`` of the slots), common English words and other pseudo-words,
many of which begin or end like a term (``test``/``testing``), with capitals and punctuation.
``find`` includes building the ``Match`` objects. Baselines: ``str.lower()`` plus one ``re`` search
for a literal that is not there (a single pass over the text), and the bare library automaton
(``ahocorasick_rs``, leftmost-longest over the lower-cased bytes, raw terms: no word boundaries, no
``Match`` objects). The non-ASCII row is the same text with one accented word in a thousand, which
takes the slower exact path. Target: >= 50 MB/s for whole words.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable
from typing import TypeVar

import ahocorasick_rs

from airlock.knowledge import Concept, Matcher, Thesaurus

_ONSETS = "b c d f g h j k l m n p r s t v w z br cr dr fr gr kr pr tr st sp sk sl pl cl bl gl ch sh th"
_VOWELS = "a e i o u ai ea io ou"
ONSETS, VOWELS = _ONSETS.split(), _VOWELS.split()
ENDINGS = ("", "", "", "n", "r", "s", "t", "x")
_COMMON = (
    "the of and to in is that for it as with was on be by this are from or an at which not have but all can has "
    "will one their there been if more when would into some than its so what out about up only other then them "
    "these may new also use two how our first each any most very data file code run test build value result"
)
COMMON = _COMMON.split()
T = TypeVar("T")


def pseudo_word(rng: random.Random) -> str:
    syllables = rng.choice((2, 2, 2, 3, 3, 4))
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(syllables)) + rng.choice(ENDINGS)


def generate(seed: int, n_terms: int, size: int, share: float) -> tuple[Thesaurus, str]:
    """A thesaurus of ``n_terms`` terms (concepts of 1-4 synonyms) and a text of ``size`` characters."""
    rng = random.Random(seed)
    lexicon: set[str] = set()
    while len(lexicon) < int(n_terms * 1.4):
        lexicon.add(pseudo_word(rng))
    words = sorted(lexicon)
    rng.shuffle(words)
    heads, filler = words[: int(n_terms * 0.7)], words[int(n_terms * 0.7) :]
    terms = set(heads[: int(n_terms * 0.55)])
    while len(terms) < n_terms:
        terms.add(" ".join(rng.choice(heads) for _ in range(rng.choice((2, 2, 3)))))
    ordered = sorted(terms)
    concepts: dict[str, Concept] = {}
    concept = Concept(0, ordered[0])
    for term in ordered:
        if rng.random() < 0.5:  # a new concept; else a synonym of the last one
            concept = Concept(concept.id + 1, term)
        concepts[term] = concept
    return Thesaurus("generated", concepts), _text(rng, ordered, filler, size, share)


def _text(rng: random.Random, terms: list[str], filler: list[str], size: int, share: float) -> str:
    parts, total = [], 0
    while total < size:
        sentence = []
        for _ in range(rng.randint(6, 20)):
            draw = rng.random()
            if draw < share:
                sentence.append(rng.choice(terms))
            elif draw < share + (1 - share) / 2:
                sentence.append(rng.choice(COMMON))
            else:
                sentence.append(rng.choice(filler))
        line = " ".join(sentence)
        line = line[0].upper() + line[1:] + rng.choice((". ", ". ", ", ", ".\n", "; ", "? "))
        parts.append(line)
        total += len(line)
    return "".join(parts)[:size]


def best(function: Callable[[], T], rounds: int) -> tuple[float, T]:
    """The fastest of ``rounds`` runs (seconds), and what the last one returned."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=100_000)
    parser.add_argument("--mb", type=float, default=10.0)
    parser.add_argument("--share", type=float, default=0.05, help="share of the text's word slots that are terms")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()

    started = time.perf_counter()
    thesaurus, text = generate(args.seed, args.terms, int(args.mb * 1_000_000), args.share)
    mb = len(text.encode()) / 1e6
    print(
        f"generated {len(thesaurus)} terms, {len(thesaurus.concepts)} concepts, {mb:.1f} MB of text "
        f"in {time.perf_counter() - started:.1f} s (seed {args.seed})"
    )
    words = text.split()
    accented = " ".join(word if n % 1000 else "café" for n, word in enumerate(words))

    build_whole, whole = best(lambda: Matcher(thesaurus), args.rounds)
    build_sub, anywhere = best(lambda: Matcher(thesaurus, whole_words=False), args.rounds)
    raw = sorted(term.encode() for term in thesaurus.terms)
    kind = ahocorasick_rs.MatchKind.LeftmostLongest
    build_bare, bare = best(lambda: ahocorasick_rs.BytesAhoCorasick(raw, matchkind=kind), args.rounds)

    rows: list[tuple[str, float, int | None]] = []
    seconds, _ = best(lambda: re.search("qqqzzzq", text.lower()), args.rounds)
    rows.append(("baseline: str.lower() + re.search (one pass)", seconds, None))
    seconds, hits = best(lambda: bare.find_matches_as_indexes(text.lower().encode()), args.rounds)
    rows.append(("baseline: bare automaton, raw terms (substrings)", seconds, len(hits)))
    seconds, matches = best(lambda: whole.find(text), args.rounds)
    rows.append(("Matcher.find, whole words", seconds, len(matches)))
    whole_seconds = seconds
    seconds, matches = best(lambda: anywhere.find(text), args.rounds)
    rows.append(("Matcher.find, substrings", seconds, len(matches)))
    seconds, matches = best(lambda: whole.find(accented), 1)
    rows.append(("Matcher.find, whole words, non-ASCII text", seconds, len(matches)))

    print(
        f"\nautomaton build ({len(thesaurus)} terms): whole words {build_whole * 1000:.0f} ms, "
        f"substrings {build_sub * 1000:.0f} ms, bare library {build_bare * 1000:.0f} ms "
        f"(non-ASCII automaton: built on first use, in the last row)"
    )
    bare_seconds = rows[1][1]
    print(f"\n{'':52} {'ms':>8} {'MB/s':>8} {'matches':>9} {'vs bare':>8}")
    for label, seconds, count in rows:
        shown = "" if count is None else f"{count:9d}"
        print(f"{label:52} {seconds * 1000:8.0f} {mb / seconds:8.1f} {shown:>9} {bare_seconds / seconds:7.2f}x")
    covered = sum(m.end - m.start for m in whole.find(text)) / len(text)
    verdict = "met" if mb / whole_seconds >= 50 else "NOT met"
    print(f"\nwhole-word matches cover {covered:.1%} of the text; target >= 50 MB/s (whole words): {verdict}")
    print(f"(best of {args.rounds} rounds; the non-ASCII row: one round, including its automaton's build)")


if __name__ == "__main__":
    main()
