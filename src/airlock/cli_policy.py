"""``airlock policy``: the policy's verdict on code, without running it; the pattern catalogue.

    airlock policy check script.sh                  the language from the suffix
    airlock policy check -c 'rm -rf /' -l bash --json
    airlock policy patterns                         every named pattern, its risk and summary

``check`` exits 0 when the code would be allowed, 1 when it would be denied (2: bad usage).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from airlock.config import load_settings
from airlock.languages import COMMAND
from airlock.models import Verdict

__all__ = ["COMMANDS", "EXIT_DENIED", "add_commands", "run", "verdict_json"]

COMMANDS = ("policy",)
EXIT_DENIED = 1


def add_commands(sub: Any) -> None:
    policy = sub.add_parser("policy", help="the policy's verdict on code, without running it")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, parser_class=type(policy))
    check = policy_sub.add_parser("check", help="judge code: exit 0 if it would run, 1 if it would be denied")
    check.add_argument("file", nargs="?", help="a source file, or - for stdin")
    check.add_argument("-c", "--code", help="the code to judge")
    check.add_argument("-l", "--language", help="its language (default: from the file's suffix)")
    check.add_argument("--role", help="judge for this role (default: the policy's default_role)")
    check.add_argument("--backend", help="judge as if pinned to this backend")
    check.add_argument("--json", action="store_true", help="print the verdict as JSON")
    policy_sub.add_parser("patterns", help="the catalogue of named high-risk patterns")


def run(args: argparse.Namespace) -> int:
    if args.policy_command == "patterns":
        return _patterns()
    from airlock.cli import source
    from airlock.runtime import Runtime

    code, language = source(args.file, args.code, args.language, "judge")
    runtime = Runtime(load_settings())
    argv = code.split("\0") if language == COMMAND else None
    verdict = runtime.policy.assess(code, language, role=args.role, argv=argv, backend=args.backend)
    if args.json:
        print(json.dumps(verdict_json(verdict), indent=2))
    else:
        _print(verdict)
    return 0 if verdict.allowed else EXIT_DENIED


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """The verdict as ``policy check --json`` and ``POST /v1/policy/check`` give it."""
    return verdict.model_dump(mode="json", exclude={"audit_id"})


def _print(verdict: Verdict) -> None:
    where = f"on {verdict.isolation}" + ("" if verdict.network else ", no network")
    print(f"{verdict.decision}: {verdict.risk.value} risk" + (f", {where}" if verdict.allowed else ""))
    for reason in verdict.reasons:
        print(f"  {reason}")


def _patterns() -> int:
    from airlock.policy import catalogue

    for pattern in sorted(catalogue().values(), key=lambda p: p.id):
        print(f"{pattern.id:<32} {pattern.risk.value:<9} {pattern.summary}")
    return 0
