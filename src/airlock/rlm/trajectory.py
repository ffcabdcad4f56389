"""Every RLM run as JSON lines: one event a line, written as it happens (a run that crashes leaves
everything up to the crash). ``replay`` renders a file for people (``airlock rlm replay FILE``).

Events (each has ``event``, ``t`` seconds since the run began, ``depth`` and ``run``):
``start`` (query, context shape, limits, model), ``turn`` (iteration, the model's reply, tokens,
cost, latency), ``code`` (iteration, code, output, exit code, ms), ``subcall`` (op, prompt and
reply sizes, tokens, cost, ms, error), ``note`` (FINAL_VAR of a missing name, a refused block),
``end`` (reason, answer, iterations, totals)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["Listener", "Trajectory", "read", "replay"]

Listener = Callable[[dict[str, Any]], None]


class Trajectory:
    """Where a run's events go: a JSON-lines file (flushed each line), listeners (live progress),
    and a list in memory. A child run writes to its parent's trajectory with its own ``run`` id."""

    def __init__(self, path: Path | None = None, *, listeners: list[Listener] | None = None) -> None:
        self.path = path
        self.events: list[dict[str, Any]] = []
        self.listeners = list(listeners or [])
        self._started = time.monotonic()
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "t": round(time.monotonic() - self._started, 4), **fields}
        self.events.append(record)
        if self._file is not None:
            self._file.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
            self._file.flush()
        for listener in self.listeners:
            listener(record)
        return record

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read(path: Path) -> Iterator[dict[str, Any]]:
    """The events of a trajectory file; a line that is not JSON (a torn last line) is skipped."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield record


def replay(path: Path, *, full: bool = False) -> Iterator[str]:
    """A past run, line by line, as ``airlock rlm replay`` prints it; ``full`` shows whole texts."""
    limit = None if full else 400
    for record in read(path):
        indent = "  " * int(record.get("depth", 0))
        yield from (indent + line for line in _render(record, limit))


def _render(record: dict[str, Any], limit: int | None) -> list[str]:
    event, t = record.get("event"), record.get("t", 0.0)
    head = f"[{t:8.2f}s]"
    if event == "start":
        query = record.get("query") or "(the task is in the context)"
        return [f"{head} run {record.get('run')} model {record.get('model')}: {query}", f"    {record.get('context')}"]
    if event == "turn":
        tokens, cost, latency = record.get("tokens", 0), record.get("cost_usd", 0.0), record.get("latency_ms", 0)
        usage = f"{tokens} tokens, ${cost:.4f}, {latency:.0f} ms"
        return [f"{head} turn {record.get('iteration')} ({usage})", *_block(record.get("reply", ""), limit)]
    if event == "code":
        status = f"exit {record.get('exit_code')}, {record.get('ms', 0):.0f} ms"
        return [
            f"{head} code of turn {record.get('iteration')} ({status})",
            *_block(record.get("code", ""), limit, "    > "),
            *_block(record.get("output", ""), limit, "    | "),
        ]
    if event == "subcall":
        error = f" ERROR {record['error']}" if record.get("error") else ""
        return [
            f"{head} {record.get('op')} ({record.get('prompt_chars')} -> {record.get('reply_chars')} chars, "
            f"{record.get('tokens', 0)} tokens, {record.get('ms', 0):.0f} ms){error}"
        ]
    if event == "note":
        return [f"{head} note: {record.get('message')}"]
    if event == "end":
        totals = (
            f"{record.get('iterations')} turns, {record.get('subcalls')} sub-calls, {record.get('tokens')} tokens, "
            f"${record.get('cost_usd', 0.0):.4f}, {record.get('elapsed_s', 0.0):.1f} s"
        )
        return [f"{head} end: {record.get('reason')} ({totals})", *_block(str(record.get("answer")), limit, "    = ")]
    return [f"{head} {event}: {json.dumps(record, default=str)[:200]}"]


def _block(text: str, limit: int | None, prefix: str = "    ") -> list[str]:
    if limit is not None and len(text) > limit:
        text = text[:limit] + f" ... [{len(text) - limit} more chars]"
    return [prefix + line for line in text.splitlines() or [""]]
