"""The audit log: append-only and hash-chained, so that an edited, removed or reordered record shows.

Every record carries its place in the chain (``seq``, from 1), the hash of the record before it
(``prev_hash``; 64 zeros for the first) and its own hash: SHA-256 of its canonical JSON (keys
sorted, no spaces, ASCII) without ``hash``. The store assigns the three as it appends, under the
database's write lock, so the server, the library and the CLI can all append to one file::

    log = AuditLog(store)
    await log.append("sandbox.create", tenant="acme", actor="key-1", target=sandbox_id)
    report = await log.verify()      # report.ok, report.problems: one line per finding
    head = await log.head()          # keep it somewhere else; verify(expect_head=head) later

``verify`` walks the chain in pages and names each record that was edited (its content does not
match its hash, or it was re-hashed and no longer matches the next record's ``prev_hash``),
removed (a gap in ``seq``) or reordered (it sits at another ``seq`` than it was written at).

What the chain cannot tell alone: it proves that the records agree with each other, not that they
are all there or that they were written by Airlock. Deleting the newest records (truncation)
leaves a shorter, valid chain; and anyone who can write the database can rewrite the whole chain
from some record on, hashes and all. ``head()`` is the cheap defence against both: store the
``(seq, hash)`` it returns outside the database (a ticket, another host, a write-once bucket), and
``verify(expect_head=...)`` reports the log truncated before that record, or rewritten through it.

Network connection attempts are recorded here too, with actions under ``network.`` (such as
``network.connect``, detail ``host``, ``port``, ``allowed``, ``reason``, ``sandbox_id``);
``tail(network_only=True)`` shows only those.

The server writes each record before it answers. With ``behind=True`` (the library, whose exec
path must not wait for a commit) ``append`` returns at once and a background task writes the
records in batches within about 50 ms; ``flush`` and ``aclose`` write what is pending. A batch that
cannot be written stays pending, in order, for the next try.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ValidationError

from airlock.store import AuditEvent, Store

__all__ = ["NETWORK_PREFIX", "AuditHead", "AuditLog", "AuditReport"]

logger = logging.getLogger(__name__)

#: The actions of network connection attempts start with this.
NETWORK_PREFIX = "network."
#: How long a record written behind may wait, so that many go in one commit.
_WRITE_DELAY_S = 0.05
#: Records read per query when walking the chain.
_PAGE = 1000


class AuditHead(BaseModel):
    """The chain's last record, to keep elsewhere: ``str()`` gives ``SEQ:HASH``, ``parse`` reads it."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> AuditHead:
        """``SEQ:HASH`` back into a head; ``ValueError`` if it is not one."""
        seq, sep, digest = text.strip().partition(":")
        if not sep or not seq.isdigit() or len(digest) != 64:
            raise ValueError(f"expected SEQ:HASH (a number and 64 hex digits), not {text!r}")
        return cls(seq=int(seq), hash=digest.lower())


class AuditReport(BaseModel):
    """What ``verify`` found: ``ok`` when no record was edited, removed or reordered."""

    ok: bool
    records: int
    problems: list[str]
    head: AuditHead | None = None


class _ChainCheck:
    """Checks records one at a time, in the order of their ``seq`` column, remembering only the last;
    one problem per record, the first of: edited, reordered, not linked to the record before."""

    def __init__(self, expect_head: AuditHead | None) -> None:
        self.expect_head = expect_head
        self.anchor_hash: str | None = None  # the stored hash of the record at expect_head.seq
        self.records = 0
        self.problems: list[str] = []
        self.next_seq = 1
        self.last: tuple[object, object] | None = None  # the last record's own (seq, hash)
        self.head: AuditHead | None = None

    def add(self, seq: int, data: str) -> None:
        self.records += 1
        if seq < 1:  # the store numbers from 1
            self.problems.append(f"seq {seq}: not in the chain, which starts at seq 1: put there by hand")
            return
        if seq > self.next_seq:
            gone = f"seq {self.next_seq}" if seq == self.next_seq + 1 else f"seq {self.next_seq} to {seq - 1}"
            where = f"goes from seq {self.next_seq - 1} to {seq}" if self.next_seq > 1 else f"starts at seq {seq}"
            self.problems.append(f"{gone}: removed (the chain {where})")
        self.next_seq = seq + 1
        try:
            body = json.loads(data)
            if not isinstance(body, dict):
                raise TypeError(type(body).__name__)
        except (ValueError, TypeError):
            self.problems.append(f"seq {seq}: edited: its record is not a JSON object any more")
            self.last, self.head = None, None
            return
        self._check(seq, body)

    def _check(self, seq: int, body: dict[str, Any]) -> None:
        where, stored = f"seq {seq} (id {body.get('id')})", body.get("hash")
        if stored != AuditEvent.digest(body):
            self.problems.append(f"{where}: edited: its content does not match its hash")
        elif body.get("seq") != seq:
            self.problems.append(f"{where}: reordered: it was written as seq {body.get('seq')}")
        elif self.last is not None and self.last[0] == seq - 1 and body.get("prev_hash") != self.last[1]:
            self.problems.append(
                f"{where}: its prev_hash is not the hash of seq {seq - 1}: that record was edited"
                " (and re-hashed) or replaced"
            )
        elif seq == 1 and body.get("prev_hash") != AuditEvent.GENESIS:
            self.problems.append(f"{where}: edited: the first record's prev_hash is not the genesis hash")
        self.last = (body.get("seq"), stored)
        self.head = AuditHead(seq=seq, hash=stored) if isinstance(stored, str) else None
        if self.expect_head is not None and seq == self.expect_head.seq:
            self.anchor_hash = str(stored)

    def report(self) -> AuditReport:
        problems = list(self.problems)
        if self.expect_head is not None:
            expected = self.expect_head
            if self.anchor_hash is None:
                problems.append(f"seq {expected.seq}: removed: the head kept elsewhere is gone (the log was truncated)")
            elif self.anchor_hash != expected.hash:
                problems.append(f"seq {expected.seq}: edited: not the head kept elsewhere (the chain was rewritten)")
        return AuditReport(ok=not problems, records=self.records, problems=problems, head=self.head)


class AuditLog:
    """Appends to, checks and reads the audit chain in ``store`` (which the caller opens and closes)."""

    def __init__(self, store: Store, *, behind: bool = False) -> None:
        """``behind``: ``append`` returns before the record is written (see the module's docstring)."""
        self.store = store
        self.behind = behind
        self._pending: list[AuditEvent] = []
        self._writer: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()
        self._write_now = asyncio.Event()

    async def __aenter__(self) -> AuditLog:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def append(
        self,
        action: str,
        *,
        tenant: str | None = None,
        actor: str | None = None,
        target: str | None = None,
        event_id: str | None = None,
        **detail: Any,
    ) -> str:
        """Record ``action``; returns the record's id (``event_id`` if given, as when a verdict
        already carries it, else a new ULID). ``detail`` must be JSON-able (checked here)."""
        event = AuditEvent(tenant=tenant, actor=actor, action=action, target=target, detail=detail)
        if event_id is not None:
            event.id = event_id
        if not self.behind:
            await self.store.add_audit(event)
            return event.id
        event.model_dump_json()  # what cannot be serialised fails its caller, not the writer's batch
        self._pending.append(event)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_soon())
        return event.id

    async def _write_soon(self) -> None:
        with contextlib.suppress(TimeoutError):  # the records of the next moments join the batch
            await asyncio.wait_for(self._write_now.wait(), _WRITE_DELAY_S)
        try:
            await self.flush()
        except Exception:  # kept pending; the next append, flush or aclose tries again
            logger.exception("could not write %d audit records", len(self._pending))

    async def flush(self) -> None:
        """Write the records still pending; if the store fails, they stay pending and it raises."""
        async with self._flushing:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await self.store.add_audits(batch)
                except BaseException:
                    self._pending[:0] = batch
                    raise

    async def aclose(self) -> None:
        """Write what is pending (the store stays open)."""
        if self._writer is not None:
            self._write_now.set()  # the writer stops waiting for more, and writes
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None
            self._write_now.clear()
        await self.flush()

    async def head(self) -> AuditHead | None:
        """The last record's ``seq`` and stored hash (``None`` while the log is empty)."""
        await self.flush()
        rows = await self.store.read_audit(limit=1, newest=True)
        if not rows:
            return None
        seq, data = rows[0]
        try:
            stored = json.loads(data).get("hash")
        except (ValueError, AttributeError):  # not a record any more: verify says so
            stored = None
        return AuditHead(seq=seq, hash=stored if isinstance(stored, str) else "")

    async def verify(self, *, expect_head: AuditHead | None = None) -> AuditReport:
        """Walk the whole chain, a page at a time; with ``expect_head`` (from ``head()``, kept
        elsewhere) also check that the log still holds that record, unchanged."""
        await self.flush()
        check, after = _ChainCheck(expect_head), None
        while rows := await self.store.read_audit(after_seq=after, limit=_PAGE):
            for seq, data in rows:
                check.add(seq, data)
            after = rows[-1][0]
        return check.report()

    async def tail(
        self, limit: int = 20, *, network_only: bool = False, since_seq: int | None = None
    ) -> list[AuditEvent]:
        """The newest ``limit`` records, oldest first; with ``since_seq``, the first ``limit``
        after that one (to follow the log). ``network_only``: only network connection attempts."""
        await self.flush()
        found: list[AuditEvent] = []
        if limit < 1:
            return found
        page = limit if not network_only else max(limit, _PAGE)
        if since_seq is not None:
            after = since_seq
            while len(found) < limit and (rows := await self.store.read_audit(after_seq=after, limit=page)):
                found += _matching(rows, network_only)
                after = rows[-1][0]
            return found[:limit]
        before: int | None = None
        while len(found) < limit and (rows := await self.store.read_audit(before_seq=before, limit=page, newest=True)):
            found += _matching(rows, network_only)
            before = rows[-1][0]
        return found[:limit][::-1]

    async def follow(
        self, *, since_seq: int = 0, network_only: bool = False, poll_s: float = 0.5
    ) -> AsyncIterator[AuditEvent]:
        """The records after ``since_seq`` as they are appended, oldest first, looking every
        ``poll_s`` seconds; it never ends (break out of the loop, or cancel it)."""
        after = since_seq
        while True:
            await self.flush()
            rows = await self.store.read_audit(after_seq=after, limit=_PAGE)
            for event in _matching(rows, network_only):
                yield event
            if rows:
                after = rows[-1][0]
            if len(rows) < _PAGE:
                await asyncio.sleep(poll_s)


def _parse(seq: int, data: str) -> AuditEvent | None:
    try:
        return AuditEvent.model_validate_json(data)
    except ValidationError:
        logger.warning("audit record seq %d cannot be read; `airlock audit verify` says more", seq)
        return None


def _matching(rows: list[tuple[int, str]], network_only: bool) -> list[AuditEvent]:
    events = (_parse(seq, data) for seq, data in rows)
    return [e for e in events if e is not None and (not network_only or e.action.startswith(NETWORK_PREFIX))]
