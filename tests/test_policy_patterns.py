"""Every pattern of the catalogue, each with its own tests: its examples are found, its benign
look-alikes are not."""

from __future__ import annotations

import pytest

from airlock.policy.analysis import analyze
from airlock.policy.patterns import Pattern, catalogue

PATTERNS = catalogue()
EXAMPLES = [(p.id, lang, code) for p in PATTERNS.values() for lang, code in p.examples]
BENIGN = [(p.id, lang, code) for p in PATTERNS.values() for lang, code in p.benign]


def test_the_catalogue_names_at_least_70_patterns() -> None:
    assert len(PATTERNS) >= 70, sorted(PATTERNS)
    categories = {pattern_id.split(".")[0] for pattern_id in PATTERNS}
    for needed in ("delete", "disk", "dos", "net", "priv", "persist", "history", "kernel", "mining", "cred"):
        assert needed in categories


@pytest.mark.parametrize(("pattern_id", "language", "code"), EXAMPLES, ids=[f"{p}:{c[:40]}" for p, _, c in EXAMPLES])
def test_each_example_is_found(pattern_id: str, language: str, code: str) -> None:
    found = {reason.pattern for reason in analyze(code, language)}
    assert pattern_id in found, f"{pattern_id} not found in {code!r}; found {sorted(found)}"


@pytest.mark.parametrize(("pattern_id", "language", "code"), BENIGN, ids=[f"{p}:{c[:40]}" for p, _, c in BENIGN])
def test_each_look_alike_is_not(pattern_id: str, language: str, code: str) -> None:
    found = {reason.pattern for reason in analyze(code, language)}
    assert pattern_id not in found, f"{pattern_id} wrongly found in {code!r}"


def test_a_pattern_needs_an_id_and_an_example() -> None:
    from airlock.models import Risk

    with pytest.raises(ValueError, match="at least one example"):
        Pattern("nodot", Risk.LOW, "x", examples=(("bash", "ls"),))
    with pytest.raises(ValueError, match="at least one example"):
        Pattern("a.b", Risk.LOW, "x")
