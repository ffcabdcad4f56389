"""Does a text speak the domain's language? Strictness, retries and escalation, and feedback a
model can use to rephrase (the intended semantics of the reference, §1.11).

A text's words (``words.words``) are known when matches of the thesaurus's terms cover them
(``rust-lang``: both halves), unknown otherwise. The match ratio is known words / words.

==========  ==============================================================================
permissive  never fails; the message warns of what normal would refuse, ``required`` only reported
normal      fails when nothing known is said, when the ratio is below ``min_match_ratio`` (0.1),
            or when a required concept is missing
strict      as normal with its own ratio (0.3), and also fails on any unknown word
==========  ==============================================================================

A text with no words and no match (empty, or only numbers and stop words) has nothing to judge:
it passes, unless a required concept is missing. A failed validation asks for a rephrasing
(``retry``) while ``attempt < max_retries``, and then for a human (``escalate``). ``attempt`` is how
many tries came before this one (0 for the first).

Without a thesaurus (``None``, or one with no term long enough to match) nothing can be known:
permissive and normal pass with a note (normal fails if concepts are required: they cannot be
found), strict fails closed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from rapidfuzz import fuzz, process

from airlock.knowledge.matcher import Match, Matcher
from airlock.knowledge.thesaurus import Thesaurus
from airlock.knowledge.words import Word, words

__all__ = ["MIN_MATCH_RATIO", "SUGGESTION_CUTOFF", "KnowledgeValidator", "Strictness", "Validation"]

#: How similar (0-100, ``rapidfuzz.fuzz.ratio``) a term must be to an unknown word to be suggested.
SUGGESTION_CUTOFF = 70.0
_SUGGESTIONS_PER_WORD = 3
_WORDS_WITH_SUGGESTIONS = 10  # each one is a fuzzy search over every term
_SHOWN = 5  # unknown words named in a message


class Strictness(StrEnum):
    PERMISSIVE = "permissive"
    NORMAL = "normal"
    STRICT = "strict"

    @classmethod
    def _missing_(cls, value: object) -> Strictness | None:
        """Any case: ``Strictness("Strict")``."""
        return next((member for member in cls if isinstance(value, str) and member.value == value.lower()), None)


#: The reference's presets: the least share of known words each level accepts.
MIN_MATCH_RATIO = {Strictness.PERMISSIVE: 0.0, Strictness.NORMAL: 0.1, Strictness.STRICT: 0.3}


@dataclass(frozen=True)
class Validation:
    """The outcome of one validation. ``unknown`` is case-folded, each once, in text order;
    ``missing`` lists the required names as given; ``suggestions`` maps an unknown word to close
    terms (looked for only when there is something to say: a failure, or permissive's warnings; for
    the first 10 unknown words); ``feedback`` is empty when there is nothing to say."""

    passed: bool
    strictness: Strictness
    matched: list[Match] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    suggestions: dict[str, list[str]] = field(default_factory=dict)
    ratio: float = 0.0
    message: str = ""
    feedback: str = ""
    retry: bool = False
    escalate: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (a match as its term, concept name and offsets)."""
        return {
            "passed": self.passed,
            "strictness": self.strictness.value,
            "matched": [
                {"term": m.term, "concept": m.concept.nterm, "start": m.start, "end": m.end} for m in self.matched
            ],
            "unknown": self.unknown,
            "missing": self.missing,
            "suggestions": self.suggestions,
            "ratio": self.ratio,
            "message": self.message,
            "feedback": self.feedback,
            "retry": self.retry,
            "escalate": self.escalate,
        }


class KnowledgeValidator:
    """Validates texts against a thesaurus (or a ready ``Matcher``; None: no thesaurus)."""

    def __init__(
        self,
        source: Thesaurus | Matcher | None,
        strictness: Strictness | str = Strictness.NORMAL,
        *,
        max_retries: int = 3,
        min_match_ratio: float | None = None,
    ) -> None:
        self.matcher = Matcher(source) if isinstance(source, Thesaurus) else source
        self.strictness = Strictness(strictness)
        if max_retries < 0:
            raise ValueError("max_retries cannot be negative")
        self.max_retries = max_retries
        ratio = MIN_MATCH_RATIO[self.strictness] if min_match_ratio is None else min_match_ratio
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"min_match_ratio is a share between 0 and 1, not {ratio}")
        self.min_match_ratio = ratio

    def validate(self, text: str, *, required: Sequence[str] = (), attempt: int = 0) -> Validation:
        """Judge ``text``; ``required`` names concepts it must mention (a concept's name or any of
        its terms); ``attempt`` counts the tries before this one."""
        matcher = self.matcher
        if matcher is None or not matcher.terms:
            return self._without_thesaurus(list(required))
        matched = matcher.find(text)
        counted = words(text)
        unknown_words = _unknown(text, counted, matched)
        unknown = list(dict.fromkeys(word.text for word in unknown_words))
        ratio = 1 - len(unknown_words) / len(counted) if counted else float(bool(matched))
        missing = _missing(matcher.thesaurus, required, matched)
        problems = self._problems(matched, counted, unknown, ratio, missing)
        outcome = _Outcome(not problems or self.strictness is Strictness.PERMISSIVE, attempt, self.max_retries)
        validation = Validation(
            outcome.passed,
            self.strictness,
            matched=matched,
            unknown=unknown,
            missing=missing,
            suggestions=_suggestions(matcher, unknown) if problems else {},
            ratio=round(ratio, 4),
            message=outcome.message(problems, self.strictness, len(matched), ratio),
            retry=outcome.retry,
            escalate=outcome.escalate,
        )
        return replace(validation, feedback=_feedback(validation, matcher.thesaurus)) if problems else validation

    def _problems(
        self, matched: list[Match], counted: list[Word], unknown: list[str], ratio: float, missing: list[str]
    ) -> list[str]:
        """What this level refuses (what permissive only warns of)."""
        problems = []
        if counted and not matched:
            shown = ", ".join(unknown[:_SHOWN])
            problems.append(f"No known terms found. Please use domain-specific terminology. Unrecognized: {shown}")
        elif matched and ratio < self.min_match_ratio:
            problems.append(f"Match ratio {ratio:.0%} below threshold {self.min_match_ratio:.0%}")
        if unknown and self.strictness is Strictness.STRICT:
            problems.append(f"Unknown terms: {', '.join(unknown[:_SHOWN])}" + (" ..." if len(unknown) > _SHOWN else ""))
        if missing:
            problems.append(f"Missing required concepts: {', '.join(missing)}")
        return problems

    def _without_thesaurus(self, required: list[str]) -> Validation:
        """Nothing can be known: strict fails closed; so does normal when it must find concepts.
        Rephrasing cannot help, so a failure goes to a human at once."""
        if self.strictness is Strictness.STRICT or (required and self.strictness is Strictness.NORMAL):
            message = "No thesaurus to validate against: " + (
                f"the required concepts cannot be found: {', '.join(required)}"
                if required
                else "strict validation fails closed"
            )
            feedback = f"{message}\nNo rephrasing can pass: a human must configure a thesaurus, or approve or reject."
            return Validation(
                False, self.strictness, missing=required, message=message, feedback=feedback, escalate=True
            )
        note = "No thesaurus to validate against: nothing was checked"
        if required:
            note += f" (required, not enforced: {', '.join(required)})"
        return Validation(True, self.strictness, missing=required, message=note)


def _missing(thesaurus: Thesaurus, required: Sequence[str], matched: list[Match]) -> list[str]:
    """The required names whose concept no match names (a name the thesaurus lacks is missing)."""
    present = {match.concept for match in matched}
    return [name for name in required if thesaurus.resolve(name) not in present]


def _suggestions(matcher: Matcher, unknown: list[str]) -> dict[str, list[str]]:
    """Close terms for the first unknown words (each one is a fuzzy search over every term)."""
    suggestions = {}
    for word in unknown[:_WORDS_WITH_SUGGESTIONS]:
        close = process.extract(
            word, matcher.terms, scorer=fuzz.ratio, score_cutoff=SUGGESTION_CUTOFF, limit=_SUGGESTIONS_PER_WORD
        )
        if close:
            suggestions[word] = [term for term, _score, _index in close]
    return suggestions


@dataclass(frozen=True)
class _Outcome:
    """Pass or fail, and what comes next: a rephrasing, or a human."""

    passed: bool
    attempt: int
    max_retries: int

    @property
    def retry(self) -> bool:
        return not self.passed and self.attempt < self.max_retries

    @property
    def escalate(self) -> bool:
        return not self.passed and self.attempt >= self.max_retries

    def message(self, problems: list[str], strictness: Strictness, matches: int, ratio: float) -> str:
        if not problems:
            return f"{matches} known term(s); {ratio:.0%} of the words are known"
        joined = "; ".join(problems)
        if self.passed:
            return f"Warning ({strictness.value}, not enforced): {joined}"
        if self.escalate:
            return f"Validation failed after {self.attempt + 1} attempts. User intervention required: {joined}"
        return joined


def _unknown(text: str, counted: list[Word], matched: list[Match]) -> list[Word]:
    """The words that no match covers (all their characters but ``-``), in text order."""
    starts = [match.start for match in matched]
    ends = [match.end for match in matched]
    return [word for word in counted if not _covered(text, word, starts, ends)]


def _covered(text: str, word: Word, starts: list[int], ends: list[int]) -> bool:
    position, index = word.start, bisect_right(ends, word.start)
    while position < word.end:
        if text[position] == "-":
            position += 1
            continue
        while index < len(ends) and ends[index] <= position:
            index += 1
        if index == len(ends) or starts[index] > position:
            return False
        position = ends[index]
    return True


def _feedback(validation: Validation, thesaurus: Thesaurus) -> str:
    """What a model needs to rephrase: what was wrong, which words, what to say instead."""
    verdict = "warning" if validation.passed else "failed"
    lines = [f"Knowledge check {verdict} ({validation.strictness.value}): {validation.message}"]
    unknown = validation.unknown
    if unknown:
        lines.append(f"  Unknown terms: {', '.join(unknown[:20])}" + (" ..." if len(unknown) > 20 else ""))
    if known := list(dict.fromkeys(match.term for match in validation.matched)):
        lines.append(f"  Known terms you used: {', '.join(known[:20])}")
    for word, terms in validation.suggestions.items():
        lines.append(f"  Instead of '{word}', consider: {', '.join(terms)}")
    for name in validation.missing:
        concept = thesaurus.resolve(name)
        if concept is None:
            lines.append(f"  Required concept '{name}' is not in the thesaurus {thesaurus.name!r}")
        else:
            lines.append(f"  Required concept '{name}': say one of {', '.join(thesaurus.synonyms(concept)[:10])}")
    if len(unknown) > 3:
        lines.append("  Consider using more domain-specific terminology instead of generic terms.")
    if validation.escalate:
        lines.append("No more retries: a human must approve or reject this request.")
    elif validation.retry:
        lines.append("Please rephrase to use only known domain terminology.")
    return "\n".join(lines)
