"""Reading code before it runs: each language to its analyzer, every language through the signs.

``analyze`` never raises on what the code contains; it raises only when the analysis itself breaks,
and the policy engine turns that into a denial (an analysis that fails never allows).
"""

from __future__ import annotations

import shlex

from airlock.models import Reason
from airlock.policy import javascript, python, shell, text
from airlock.policy.patterns import Findings

__all__ = ["MAX_NESTING", "analyze", "analyze_into", "read"]

#: Code found inside code (a shell line in a Python string, a decoded payload) is read this deep.
MAX_NESTING = 8


def analyze(code: str, language: str, argv: list[str] | None = None) -> list[Reason]:
    """What ``code`` in ``language`` (or ``argv``, for ``language="command"``) may do, pattern by pattern."""
    return read(code, language, argv).reasons


def read(code: str, language: str, argv: list[str] | None = None) -> Findings:
    """``analyze``, with the programs the code runs (``Findings.commands``) too."""
    findings = Findings()
    if language == "command":
        analyze_into(shlex.join(argv or []), "bash", findings)
    else:
        analyze_into(code, language, findings)
    return findings


def analyze_into(code: str, language: str, findings: Findings) -> None:
    """Add what ``code`` may do to ``findings`` (also used for code found inside code)."""
    findings.depth += 1
    try:
        if findings.depth > MAX_NESTING:
            findings.add(shell.NESTED, 1)
            return
        if language == "python":
            python.analyze(code, findings)
        elif language == "bash":
            shell.scan(code, findings)
        elif language == "javascript":
            javascript.analyze(code, findings)
        else:
            text.scan_compiled(code, findings)
        text.scan_signs(code, findings)
    finally:
        findings.depth -= 1
