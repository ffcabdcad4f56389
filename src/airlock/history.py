"""The execution history: one record per execution, kept in a ``Store``, pruned by age and count.

The server records every execution of every tenant in its store; a ``Runtime`` records the
library's own (tenant ``local``) in the same SQLite file unless ``history.record`` is off::

    async with Runtime() as rt:
        await rt.run("print(1)")
        for record in await rt.history.query(status="ok"):
            print(record.started_at, record.language, record.exit_code)

What is kept of the code follows ``history.keep_code``: all of it, only its SHA-256 (enough to
tell two runs of the same code apart), or neither.

The server writes each record before it answers (a client is told what the store holds). A
runtime's history writes behind: records are batched and written by a background task (a commit
per exec would double the latency of an exec in a running sandbox); a query, ``flush`` or closing
the runtime writes what is pending first. A process killed with ``kill -9`` loses at most the
records of its last 50 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from airlock.config import HistoryConfig
from airlock.models import ExecutionResult
from airlock.store import ExecutionQuery, ExecutionRecord, Store, utcnow

__all__ = ["LOCAL_TENANT", "History", "outcome"]

logger = logging.getLogger(__name__)

#: The tenant of the library's own executions.
LOCAL_TENANT = "local"
#: How long a lazy history's record may wait to be written, so that many go in one commit.
_WRITE_DELAY_S = 0.05
#: Records written between two prunings.
_PRUNE_EVERY = 256


def outcome(result: ExecutionResult) -> str:
    """The history's word for how an execution ended: ok, error, timeout, killed or sandbox_died."""
    if result.sandbox_died:
        return "sandbox_died"
    if result.timed_out:
        return "timeout"
    if result.oom_killed or result.signal is not None or result.cancelled:
        return "killed"
    return "ok" if result.success else "error"


class History:
    """Records executions in ``store`` and answers queries on them."""

    def __init__(self, store: Store, config: HistoryConfig, *, lazy: bool = False) -> None:
        """``lazy``: the store is this history's to open (on first use, pruning then) and close, and
        records are written behind."""
        self.store = store
        self.config = config
        self._since_prune = 0
        self._opening: asyncio.Lock | None = asyncio.Lock() if lazy else None
        self._open = not lazy
        self._pending: list[ExecutionRecord] = []
        self._writer: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()  # a query waits for a batch on its way to the store
        self._write_now = asyncio.Event()

    async def _ready(self) -> Store:
        if not self._open and self._opening is not None:
            async with self._opening:
                if not self._open:
                    await self.store.open()
                    self._open = True
                    await self._prune(self.store)
        return self.store

    async def aclose(self) -> None:
        """Write what is pending, and close the store if this history opened it."""
        if self._writer is not None:
            self._write_now.set()  # the writer stops waiting for more, and writes
            await asyncio.gather(self._writer, return_exceptions=True)
        await self.flush()
        if self._opening is not None and self._open:
            self._open = False
            await self.store.close()

    async def flush(self) -> None:
        """Write the records still pending (a lazy history writes behind)."""
        async with self._flushing:
            while self._pending:
                batch, self._pending = self._pending, []
                await (await self._ready()).add_executions(batch)

    def _write_behind(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_soon())

    async def _write_soon(self) -> None:
        with contextlib.suppress(TimeoutError):  # the execs of the next moments join the batch
            await asyncio.wait_for(self._write_now.wait(), _WRITE_DELAY_S)
        try:
            await self.flush()
            if self._since_prune >= _PRUNE_EVERY:
                await self.prune()
        except Exception:  # a history that cannot be written must not take the runtime down
            logger.exception("could not write %d history records", len(self._pending))

    async def record(
        self,
        result: ExecutionResult,
        *,
        tenant: str,
        sandbox_id: str | None,
        agent_id: str | None,
        language: str,
        code: str,
        started_at: datetime,
    ) -> ExecutionRecord:
        """Write one execution's record (and prune now and then); returns it, with its id."""
        record = ExecutionRecord(
            tenant=tenant,
            sandbox_id=sandbox_id,
            agent_id=agent_id,
            language=language,
            **self._code(code),
            exit_code=result.exit_code,
            status=outcome(result),
            error_name=result.error.name if result.error else None,
            duration_ms=result.execution_time_ms,
            stdout_bytes=result.metadata.get("stdout_bytes", 0),
            stderr_bytes=result.metadata.get("stderr_bytes", 0),
            snapshots=list(result.snapshots),
            rolled_back_to=result.rolled_back_to,
            started_at=started_at,
        )
        self._since_prune += 1
        if self._opening is not None:  # written behind, pruned there: nothing here waits on the store
            self._pending.append(record)
            self._write_behind()
            return record
        await self.store.add_execution(record)
        if self._since_prune >= _PRUNE_EVERY:
            await self.prune()
        return record

    def _code(self, code: str) -> dict[str, Any]:
        keep = self.config.keep_code
        if keep == "none":
            return {}
        digest = hashlib.sha256(code.encode()).hexdigest()
        return {"code": code, "code_sha256": digest} if keep == "full" else {"code_sha256": digest}

    async def query(
        self,
        *,
        tenant: str = LOCAL_TENANT,
        sandbox_id: str | None = None,
        agent_id: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[ExecutionRecord]:
        """The records that match every filter given, newest first."""
        await self.flush()
        query = ExecutionQuery(
            tenant=tenant,
            sandbox_id=sandbox_id,
            agent_id=agent_id,
            status=status,
            since=since,
            until=until,
            limit=limit,
        )
        return await (await self._ready()).list_executions(query)

    async def prune(self) -> int:
        """Delete what the retention limits (``max_age_days``, ``max_records``) no longer keep."""
        await self.flush()
        return await self._prune(await self._ready())

    async def _prune(self, store: Store) -> int:
        self._since_prune = 0
        age = self.config.max_age_days
        before = utcnow() - timedelta(days=age) if age is not None else None
        return await store.prune_executions(before, self.config.max_records)
