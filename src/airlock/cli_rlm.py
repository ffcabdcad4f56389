"""``airlock rlm``: a Recursive Language Model run over a context file, with live progress, and
the replay of a past run.

    airlock rlm --context FILE --query "..."    run; the answer on stdout, progress on stderr
    airlock rlm replay FILE [--full]            a past run's trajectory, turn by turn

The context file is JSON (a string, list or dict) when it ends in ``.json``, else text. The model
is ``[llm]`` of the config (``AIRLOCK_LLM__BASE_URL``, ``AIRLOCK_LLM__MODEL``, ...); ``--model`` and
``--base-url`` override it. Every run is logged to ``--trajectory`` (default
``$AIRLOCK_HOME/rlm/<run>.jsonl``). Exit 0 with an answer, 1 when a limit ended the run first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from airlock.cli import EXIT_USAGE, _fail, _Parser, llm_config
from airlock.config import load_settings

__all__ = ["COMMANDS", "EXIT_NO_ANSWER", "add_commands", "run"]

COMMANDS = frozenset({"rlm"})
EXIT_NO_ANSWER = 1


def add_commands(sub: Any) -> None:
    rlm = sub.add_parser(
        "rlm", help="answer a query about a large context with a Recursive Language Model (or replay a run)"
    )
    rlm.add_argument("--context", metavar="FILE", help="the context: JSON (.json) or text")
    rlm.add_argument("--query", help="what to answer about it (default: the task is in the context)")
    rlm.add_argument("--model", help="the root model (default: [llm] model)")
    rlm.add_argument("--sub-model", help="the model for sub-calls (default: [llm] sub_model, else the root model)")
    rlm.add_argument("--base-url", help="an OpenAI-compatible or Ollama endpoint (default: [llm] base_url)")
    rlm.add_argument("--max-iterations", type=int, default=30)
    rlm.add_argument("--max-depth", type=int, default=1, help="1: sub-calls are plain calls; 2: rlm_query recurses")
    rlm.add_argument("--max-tokens", type=int, help="of every call of the run")
    rlm.add_argument("--max-time", type=float, metavar="SECONDS")
    rlm.add_argument("--max-cost", type=float, metavar="USD")
    rlm.add_argument("--max-errors", type=int, default=5, help="consecutive turns whose code failed")
    rlm.add_argument("--max-concurrent", type=int, default=4, help="sub-calls in flight at once")
    rlm.add_argument("--trajectory", metavar="FILE", help="where to log the run (JSON lines)")
    rlm.add_argument("--backend", help="the sandbox backend (default: the configured one)")
    rlm.add_argument("--role", help="the policy role the code is judged for")
    rlm.add_argument("--json", action="store_true", help="print the result as JSON")
    rlm.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    commands = rlm.add_subparsers(dest="rlm_command", parser_class=_Parser)
    replay = commands.add_parser("replay", help="show a past run from its trajectory file")
    replay.add_argument("file", metavar="FILE")
    replay.add_argument("--full", action="store_true", help="whole replies, code and outputs (not cut)")


def run(args: argparse.Namespace) -> int:
    if args.rlm_command == "replay":
        return _replay(Path(args.file), args.full)
    if not args.context:
        _fail("give the context with --context FILE (or: airlock rlm replay FILE)", EXIT_USAGE)
    return asyncio.run(_run(args))


def _replay(path: Path, full: bool) -> int:
    from airlock.rlm.trajectory import replay

    if not path.is_file():
        _fail(f"no such file: {path}", EXIT_USAGE)
    for line in replay(path, full=full):
        print(line)
    return 0


def _context(file: str) -> Any:
    path = Path(file)
    if not path.is_file():
        _fail(f"no such file: {file}", EXIT_USAGE)
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".json":
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"{file} is not JSON: {exc}", EXIT_USAGE)


async def _run(args: argparse.Namespace) -> int:
    from airlock.llm.client import make_client
    from airlock.models import new_ulid
    from airlock.rlm import RLM, Limits, Trajectory
    from airlock.runtime import Runtime

    context = _context(args.context)
    settings = load_settings()
    llm = llm_config(settings, args)
    try:
        limits = Limits(
            max_iterations=args.max_iterations,
            max_depth=args.max_depth,
            max_tokens=args.max_tokens,
            max_time_s=args.max_time,
            max_cost_usd=args.max_cost,
            max_errors=args.max_errors,
            max_concurrent=args.max_concurrent,
        )
    except ValueError as exc:
        _fail(str(exc), EXIT_USAGE)
    path = Path(args.trajectory) if args.trajectory else settings.home / "rlm" / f"{new_ulid().lower()}.jsonl"
    progress = _Progress(limits.max_iterations, enabled=not args.quiet)
    trajectory = Trajectory(path, listeners=[progress])
    model = make_client(llm)
    sub_name = args.sub_model or llm.sub_model
    sub_model = make_client(llm.model_copy(update={"model": sub_name})) if sub_name else None
    try:
        async with Runtime(settings) as runtime:
            rlm = RLM(runtime, model, sub_model=sub_model, limits=limits, trajectory=trajectory, backend=args.backend)
            rlm.role = args.role
            result = await rlm.run(context, args.query)
    finally:
        trajectory.close()
        progress.done()
        await model.aclose()
        if sub_model is not None:
            await sub_model.aclose()
    if args.json:
        print(json.dumps({**result.__dict__, "usage": result.usage.__dict__, "trajectory": str(path)}, default=str))
    else:
        if result.answer is not None:
            print(result.answer)
        how = "answered" if result.answered else f"stopped: {result.reason} ({result.detail})"
        print(f"airlock rlm: {how}; trajectory: {path}", file=sys.stderr)
    return 0 if result.answered else EXIT_NO_ANSWER


class _Progress:
    """One status line on stderr: turn, sub-calls, tokens, cost, time (a line per turn when stderr
    is not a terminal)."""

    def __init__(self, max_turns: int, *, enabled: bool) -> None:
        self.max_turns = max_turns
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.turn = self.subcalls = self.tokens = 0
        self.cost = 0.0
        self.started = time.monotonic()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "turn" and event.get("depth", 0) == 0:
            self.turn = int(event.get("iteration", 0))
        if kind == "subcall":
            self.subcalls += 1
        if kind in ("turn", "subcall"):
            self.tokens += int(event.get("tokens", 0) or 0)
            self.cost += float(event.get("cost_usd", 0.0) or 0.0)
        if self.enabled and kind in ("turn", "subcall", "end"):
            line = (
                f"turn {self.turn}/{self.max_turns} · {self.subcalls} sub-calls · {self.tokens:,} tokens"
                f" · ${self.cost:.4f} · {time.monotonic() - self.started:.1f}s"
            )
            if self.tty:
                print(f"\r\033[K{line}", end="", file=sys.stderr, flush=True)
            elif kind != "subcall":
                print(line, file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled and self.tty:
            print(file=sys.stderr)
