"""``airlock audit``: this machine's audit log (``$AIRLOCK_HOME/airlock.db``, the file the server and
the library write), checked and read.

    airlock audit verify                        exit 0 intact, 1 tampered (each problem printed)
    airlock audit verify --expect-head SEQ:HASH also check a head kept elsewhere (verify prints it)
    airlock audit tail -n 50 --network          the newest records, oldest first; --network: only
                                                network connection attempts
    airlock audit tail --follow                 then the new ones as they come, until Ctrl-C

``--json``: verify prints its report as one JSON object, tail one JSON object per record.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from airlock.cli import _Parser
from airlock.config import load_settings
from airlock.policy.audit import AuditHead, AuditLog
from airlock.store import AuditEvent

__all__ = ["COMMANDS", "EXIT_TAMPERED", "add_commands", "run"]

#: The top-level commands this module serves.
COMMANDS = frozenset({"audit"})
EXIT_TAMPERED = 1
#: How often ``tail --follow`` looks for new records.
_POLL_S = 0.5


def _head(text: str) -> AuditHead:
    try:
        return AuditHead.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_commands(sub: Any) -> None:
    """Add ``audit verify`` and ``audit tail`` to the ``airlock`` parser's subcommands."""
    audit = sub.add_parser("audit", help="the tamper-evident audit log of this machine: verify it, read it")
    commands = audit.add_subparsers(dest="audit_command", required=True, parser_class=_Parser)
    verify = commands.add_parser("verify", help="check that no record was edited, removed or reordered")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument(
        "--expect-head", type=_head, metavar="SEQ:HASH", help="a head printed by an earlier verify, kept elsewhere"
    )
    tail = commands.add_parser("tail", help="the newest records, oldest first")
    tail.add_argument("-n", type=int, default=20, dest="limit", metavar="N", help="how many (default 20)")
    tail.add_argument("--network", action="store_true", help="only network connection attempts")
    tail.add_argument("--json", action="store_true", help="one JSON object per record")
    tail.add_argument("-f", "--follow", action="store_true", help="then print new records as they come, until Ctrl-C")


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from airlock.store.sqlite import SQLiteStore

    async with SQLiteStore(load_settings().database) as store:
        log = AuditLog(store)
        if args.audit_command == "verify":
            return await _verify(log, args)
        return await _tail(log, args)


async def _verify(log: AuditLog, args: argparse.Namespace) -> int:
    report = await log.verify(expect_head=args.expect_head)
    if args.json:
        print(report.model_dump_json(indent=2))
    elif report.ok:
        print(f"intact: {report.records} records" + (f"; head {report.head}" if report.head else ""))
    else:
        print(f"TAMPERED: {len(report.problems)} problems in {report.records} records")
        for problem in report.problems:
            print(f"  {problem}")
    return 0 if report.ok else EXIT_TAMPERED


async def _tail(log: AuditLog, args: argparse.Namespace) -> int:
    head = await log.head()
    since = head.seq if head else 0  # what is appended after this, only follow prints
    _print([e for e in await log.tail(args.limit, network_only=args.network) if (e.seq or 0) <= since], args.json)
    if args.follow:
        async for event in log.follow(since_seq=since, network_only=args.network, poll_s=_POLL_S):
            _print([event], args.json)
    return 0


def _print(events: list[AuditEvent], as_json: bool) -> None:
    for e in events:
        if as_json:
            print(e.model_dump_json(), flush=True)
            continue
        detail = json.dumps(e.detail, separators=(",", ":"), sort_keys=True) if e.detail else ""
        who = " ".join(f"{k}={v}" for k, v in (("tenant", e.tenant), ("actor", e.actor), ("target", e.target)) if v)
        print(f"{e.seq:>7}  {e.created_at:%Y-%m-%d %H:%M:%S}  {e.action:<18} {who} {detail}".rstrip(), flush=True)
