"""The catalogue of named high-risk patterns, and the findings an analysis collects.

Each analyzer (``shell``, ``python``, ``javascript``, ``text``) declares the patterns it detects next to
the code that detects them, with examples that must match and benign look-alikes that must not; the
catalogue is their union, and ``tests/test_policy_patterns.py`` runs every example of every pattern.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from airlock.models import Reason, Risk

__all__ = ["Findings", "Pattern", "Sample", "catalogue", "declare", "register"]

#: (language, code): a sample for a pattern's own tests.
Sample = tuple[str, str]


@dataclass(frozen=True)
class Pattern:
    """A named thing code can do that raises its risk."""

    id: str  #: "category.name", e.g. "delete.root"
    risk: Risk
    summary: str  #: what it is, said to the person reading the verdict
    examples: tuple[Sample, ...] = ()  #: code that must be found to do it
    benign: tuple[Sample, ...] = ()  #: look-alikes that must not

    def __post_init__(self) -> None:
        if "." not in self.id or not self.examples:
            raise ValueError(f"pattern {self.id!r} needs a 'category.name' id and at least one example")


_CATALOGUE: dict[str, Pattern] = {}


def register(*patterns: Pattern) -> None:
    """Add patterns to the catalogue (at import of the analyzer that detects them)."""
    for pattern in patterns:
        if _CATALOGUE.setdefault(pattern.id, pattern) is not pattern:
            raise ValueError(f"two patterns are named {pattern.id!r}")


def declare(language: str, id_: str, risk: Risk, summary: str, *examples: str, benign: tuple[str, ...] = ()) -> Pattern:
    """A pattern whose samples are all in ``language``, registered."""
    pattern = Pattern(id_, risk, summary, tuple((language, e) for e in examples), tuple((language, b) for b in benign))
    register(pattern)
    return pattern


def catalogue() -> dict[str, Pattern]:
    """Every pattern of every analyzer, by id."""
    import airlock.policy.analysis  # noqa: F401  (imports every analyzer, which registers its patterns)

    return dict(_CATALOGUE)


@dataclass
class Findings:
    """What one analysis found. ``offset`` shifts line numbers for code found inside other code (a
    shell command in a Python string is reported at the Python line)."""

    reasons: list[Reason] = field(default_factory=list)
    offset: int = 0
    depth: int = 0  #: how deep in code found inside code the analysis is
    commands: set[str] = field(default_factory=set)  #: every program it runs, by name (blacklist, rates)

    def add(self, pattern: Pattern, line: int | None, detail: str = "", *, risk: Risk | None = None) -> None:
        message = f"{pattern.summary}: {_clip(detail)}" if detail else pattern.summary
        where = None if line is None else line + self.offset
        self.reasons.append(Reason(pattern=pattern.id, risk=risk or pattern.risk, message=message, line=where))

    def extend(self, reasons: Iterable[Reason]) -> None:
        self.reasons.extend(reasons)

    @property
    def risk(self) -> Risk:
        return max((reason.risk for reason in self.reasons), default=Risk.LOW, key=lambda risk: risk.level)


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
