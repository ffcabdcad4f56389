"""The policy engine against two corpora of sample code (issue 6): every malicious sample is denied or sent to
the strongest rung (risk high or critical), every benign sample is allowed at low or medium risk, and the run
prints the false-negative and false-positive rates in pytest's terminal summary.

The samples live one per file in ``policy_corpus/malicious`` and ``policy_corpus/benign``, named
``NNN-short-name.ext`` (``.py`` Python, ``.sh`` bash, ``.js`` JavaScript), each opening with a one-line comment
that says what it is and why it is bad or fine. They are data: this module reads and analyses them, and checks
their syntax with ``ast.parse``, ``bash -n`` and ``node --check``, none of which runs them.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from airlock.models import Risk, Verdict
from airlock.policy import Policy

CORPUS = Path(__file__).parent / "policy_corpus"
KINDS = ("malicious", "benign")
LANGUAGES = {".py": "python", ".sh": "bash", ".js": "javascript"}
COMMENT = {".py": "# ", ".sh": "# ", ".js": "// "}
NAME = re.compile(r"(?P<number>\d{3})-[a-z0-9]+(?:-[a-z0-9]+)*(?P<ext>\.py|\.sh|\.js)")
MINIMUM_SAMPLES = 150
MAX_FALSE_POSITIVE_RATE = 0.02
#: Malicious samples the analysis does not catch yet, and why: each is an expected failure (strict:
#: one that starts being caught must leave this list), and the only misses the rates allow.
KNOWN_MISSES: dict[str, str] = {}  # sample name -> why the analysis misses it (a strict xfail)


def samples(kind: str) -> list[Path]:
    """Every file of one corpus, in name order (stray files included, so the well-formedness test sees them)."""
    return sorted(path for path in (CORPUS / kind).iterdir() if path.is_file())


MALICIOUS = samples("malicious")
BENIGN = samples("benign")


def caught(verdict: Verdict) -> bool:
    """A malicious sample is caught when it is refused, or sent to the strongest rung (high or critical risk)."""
    return verdict.decision == "deny" or verdict.risk >= Risk.HIGH


def passes(verdict: Verdict) -> bool:
    """A benign sample passes when it is allowed at low or medium risk."""
    return verdict.decision == "allow" and verdict.risk <= Risk.MEDIUM


@dataclass
class Outcome:
    """What the policy made of one sample: its verdict, or the exception ``assess`` raised."""

    path: Path
    verdict: Verdict | None = None
    error: Exception | None = None

    def describe(self) -> str:
        """One readable paragraph for a failure message: the sample, what it claims to be, and the verdict."""
        comment = self.path.read_text(encoding="utf-8").partition("\n")[0]
        header = f"{self.path.parent.name}/{self.path.name}: {comment}"
        if self.verdict is None:
            return f"{header}\n    assess raised {self.error!r}"
        v = self.verdict
        lines = [header, f"    decision={v.decision} risk={v.risk.value} isolation={v.isolation}"]
        lines += [f"    - {reason}" for reason in v.reasons] or ["    (no reasons)"]
        return "\n".join(lines)


class Verdicts:
    """Each sample assessed once per module, shared by the per-sample tests and the rates test."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.outcomes: dict[Path, Outcome] = {}

    def outcome(self, path: Path) -> Outcome:
        if path not in self.outcomes:
            code = path.read_text(encoding="utf-8")
            try:
                self.outcomes[path] = Outcome(path, verdict=self.policy.assess(code, LANGUAGES[path.suffix]))
            except Exception as error:
                self.outcomes[path] = Outcome(path, error=error)
        return self.outcomes[path]

    def verdict(self, path: Path) -> Verdict:
        """The sample's verdict; an exception from ``assess`` is raised again, so its test shows the traceback."""
        outcome = self.outcome(path)
        if outcome.error is not None:
            raise outcome.error
        assert outcome.verdict is not None
        return outcome.verdict


@pytest.fixture(scope="module")
def policy() -> Policy:
    """Default settings: the default role, the default backend namespace, the strongest rung the host has."""
    return Policy()


@pytest.fixture(scope="module")
def verdicts(policy: Policy) -> Verdicts:
    return Verdicts(policy)


# -- one test per sample ---------------------------------------------------------------------------------------
def _known(path: Path) -> object:
    reason = KNOWN_MISSES.get(path.name)
    return pytest.param(path, marks=pytest.mark.xfail(reason=reason, strict=True)) if reason else path


@pytest.mark.parametrize("path", [_known(path) for path in MALICIOUS], ids=lambda path: path.name)
def test_malicious_sample_is_denied_or_sent_to_the_strongest_rung(path: Path, verdicts: Verdicts) -> None:
    outcome = verdicts.outcome(path)
    assert caught(verdicts.verdict(path)), "missed (allowed below high risk):\n" + outcome.describe()


@pytest.mark.parametrize("path", BENIGN, ids=lambda path: path.name)
def test_benign_sample_is_allowed_at_low_or_medium_risk(path: Path, verdicts: Verdicts) -> None:
    outcome = verdicts.outcome(path)
    assert passes(verdicts.verdict(path)), "refused (denied or above medium risk):\n" + outcome.describe()


# -- the rates over the whole corpus ---------------------------------------------------------------------------
class RatesReport:
    """A plugin registered while the session runs, so the rates land in pytest's terminal summary (printed after
    the tests, whatever the capture mode) instead of in a captured test's output."""

    NAME = "airlock-policy-corpus-rates"

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.write_sep("-", "policy corpus")
        for line in self.lines:
            terminalreporter.write_line(line)


def report(config: pytest.Config, lines: list[str]) -> None:
    manager = config.pluginmanager
    if manager.get_plugin(RatesReport.NAME) is not None:
        manager.unregister(name=RatesReport.NAME)
    manager.register(RatesReport(lines), RatesReport.NAME)


def test_corpus_rates(verdicts: Verdicts, request: pytest.FixtureRequest) -> None:
    """The false-negative rate (malicious samples neither denied nor at high risk: only the known misses) and the
    false-positive rate (benign samples denied or above medium risk, at most 2 %), printed with their counts."""
    missed = [o for o in map(verdicts.outcome, MALICIOUS) if o.verdict is None or not caught(o.verdict)]
    refused = [o for o in map(verdicts.outcome, BENIGN) if o.verdict is None or not passes(o.verdict)]
    fn_rate = len(missed) / len(MALICIOUS)
    fp_rate = len(refused) / len(BENIGN)
    lines = [
        f"false negatives: {len(missed)}/{len(MALICIOUS)} malicious samples missed = {fn_rate:.1%}"
        f" ({len(KNOWN_MISSES)} known)",
        f"false positives: {len(refused)}/{len(BENIGN)} benign samples refused = {fp_rate:.1%}"
        f" (at most {MAX_FALSE_POSITIVE_RATE:.0%})",
    ]
    lines += [f"  missed:  {o.path.name}" for o in missed] + [f"  refused: {o.path.name}" for o in refused]
    report(request.config, lines)

    assert len(MALICIOUS) >= MINIMUM_SAMPLES, f"only {len(MALICIOUS)} malicious samples"
    assert len(BENIGN) >= MINIMUM_SAMPLES, f"only {len(BENIGN)} benign samples"
    message = "\n".join(
        [*lines, "missed:", *(o.describe() for o in missed), "refused:", *(o.describe() for o in refused)]
    )
    assert {o.path.name for o in missed} <= set(KNOWN_MISSES), message
    assert fp_rate <= MAX_FALSE_POSITIVE_RATE, message


# -- the corpus itself -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_corpus_is_well_formed(kind: str) -> None:
    """Enough samples; names NNN-short-name.(py|sh|js) with unique numbers; a one-line comment, then code."""
    paths = samples(kind)
    assert len(paths) >= MINIMUM_SAMPLES, f"{kind}: {len(paths)} samples, at least {MINIMUM_SAMPLES} wanted"
    problems: list[str] = []
    numbers: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        match = NAME.fullmatch(path.name)
        if match is None:
            problems.append(f"{path.name}: not named NNN-short-name.py|.sh|.js")
            continue
        numbers[match["number"]].append(path.name)
        first, _, rest = path.read_text(encoding="utf-8").partition("\n")
        prefix = COMMENT[path.suffix]
        if not first.startswith(prefix) or len(first.removeprefix(prefix).split()) < 3:
            problems.append(f"{path.name}: the first line is not a comment saying what the sample is ({prefix!r})")
        if not rest.strip():
            problems.append(f"{path.name}: no code after the comment")
    problems += [f"number {n} is used by {', '.join(names)}" for n, names in numbers.items() if len(names) > 1]
    assert not problems, "\n".join(problems)


def test_no_two_samples_have_the_same_code() -> None:
    """No sample repeats another one's code (the comment line and whitespace aside), across both corpora."""
    seen: dict[str, list[str]] = defaultdict(list)
    for path in MALICIOUS + BENIGN:
        code = path.read_text(encoding="utf-8").partition("\n")[2]
        seen[" ".join(code.split())].append(f"{path.parent.name}/{path.name}")
    duplicates = [names for names in seen.values() if len(names) > 1]
    assert not duplicates, f"samples with the same code: {duplicates}"


@pytest.mark.parametrize("kind", KINDS)
def test_samples_are_valid_syntax(kind: str) -> None:
    """Every sample parses, so the policy judges code and not a syntax error: ``ast.parse`` (warnings are errors),
    ``bash -n`` and ``node --check``. None of them runs the sample."""
    errors: list[str] = []
    missing: set[str] = set()
    for path in samples(kind):
        if path.suffix == ".py":
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                try:
                    ast.parse(path.read_text(encoding="utf-8"), filename=path.name)
                except (SyntaxError, Warning) as error:
                    errors.append(f"{path.name}: {error}")
            continue
        checker = {".sh": ["bash", "-n"], ".js": ["node", "--check"]}.get(path.suffix)
        if checker is None:
            continue  # an unknown extension: test_corpus_is_well_formed reports it
        if shutil.which(checker[0]) is None:
            missing.add(checker[0])
            continue
        result = subprocess.run([*checker, str(path)], capture_output=True, text=True, timeout=30)
        if result.returncode != 0 or result.stderr.strip():
            errors.append(f"{path.name}: {result.stderr.strip()}")
    assert not errors, "\n".join(errors)
    if missing:
        pytest.skip(f"not checked: no {', '.join(sorted(missing))} on PATH")
