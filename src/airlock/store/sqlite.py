"""The default store: one SQLite file (WAL mode) through aiosqlite, with numbered migrations.

Each record is kept whole as JSON, beside the columns that queries filter on. A committed write
survives a crash or ``kill -9`` of the server (WAL, synchronous=NORMAL); a power cut may lose the
last few.

The audit log is a hash chain (see ``airlock.policy.audit``). Appends go through a second
connection of their own, in one ``BEGIN IMMEDIATE`` transaction each: it reads the chain's end and
writes after it while holding the database's write lock, so two processes appending to one file
(the server and a CLI) cannot give out the same ``seq``, and the other statements of this store
cannot commit or break that transaction half-way. The records written before the chain existed
(schema 1) are chained by the migration to schema 2, in the order they were written
(``created_at``, then id): the chain vouches for them from then on, not for what they were before.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from pydantic import BaseModel

from airlock.errors import AirlockError
from airlock.store import (
    ApiKeyRecord,
    AuditEvent,
    ExecutionQuery,
    ExecutionRecord,
    SandboxRecord,
    SandboxStatus,
    Store,
    utcnow,
)

__all__ = ["MIGRATIONS", "SQLiteStore"]

_R = TypeVar("_R", bound=BaseModel)

#: Schema versions, in order; version N is reached by running MIGRATIONS[N - 1]. Append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE api_keys (id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL,
                           data TEXT NOT NULL);
    CREATE TABLE sandboxes (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, status TEXT NOT NULL,
                            data TEXT NOT NULL);
    CREATE INDEX sandboxes_by_tenant ON sandboxes (tenant, status);
    CREATE TABLE executions (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, sandbox_id TEXT, agent_id TEXT,
                             status TEXT NOT NULL, started_at TEXT NOT NULL, data TEXT NOT NULL);
    CREATE INDEX executions_by_tenant ON executions (tenant, started_at);
    CREATE TABLE audit (id TEXT PRIMARY KEY, tenant TEXT, created_at TEXT NOT NULL, data TEXT NOT NULL);
    """,
    """
    ALTER TABLE audit RENAME TO audit_unchained;
    CREATE TABLE audit (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, tenant TEXT, created_at TEXT NOT NULL,
                        data TEXT NOT NULL);
    CREATE INDEX audit_by_tenant ON audit (tenant, seq);
    INSERT INTO audit SELECT ROW_NUMBER() OVER (ORDER BY created_at, id), id, tenant, created_at, data
        FROM audit_unchained;
    DROP TABLE audit_unchained;
    """,
)


async def _chain_unchained(db: aiosqlite.Connection) -> None:
    """Schema 2: give the records of schema 1 (numbered in order, but with no hashes) theirs."""
    prev = AuditEvent.GENESIS
    async with db.execute("SELECT seq, data FROM audit ORDER BY seq") as cursor:
        rows = await cursor.fetchall()
    for seq, data in rows:
        event = AuditEvent.model_validate_json(data)
        await db.execute("UPDATE audit SET data = ? WHERE seq = ?", (event.chain(seq, prev), seq))
        prev = event.hash or prev


#: What a migration does beyond SQL, in its transaction: version -> step.
_STEPS: dict[int, Callable[[aiosqlite.Connection], Awaitable[None]]] = {2: _chain_unchained}


def _time(value: datetime) -> str:
    """Sortable text: every time in UTC, same format."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class SQLiteStore(Store):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self._chain: aiosqlite.Connection | None = None  # the audit chain's appends, and only them
        self._chain_lock = asyncio.Lock()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise AirlockError("the store is not open")
        return self._db

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path.touch(mode=0o600, exist_ok=True)
        os.chmod(self.path, 0o600)  # it holds key hashes and sandbox env values
        self._db = await aiosqlite.connect(self.path)
        await self.db.execute("PRAGMA journal_mode=WAL")
        await self.db.execute("PRAGMA synchronous=NORMAL")
        await self.db.execute("PRAGMA busy_timeout=5000")
        await self._migrate()

    async def _migrate(self) -> None:
        await self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        async with self.db.execute("SELECT MAX(version) FROM schema_version") as cursor:
            row = await cursor.fetchone()
        current = row[0] if row and row[0] is not None else 0
        if current > len(MIGRATIONS):
            raise AirlockError(f"the store at {self.path} has schema {current}; this Airlock knows {len(MIGRATIONS)}")
        for version in range(current + 1, len(MIGRATIONS) + 1):
            try:
                await self.db.executescript(
                    f"BEGIN; {MIGRATIONS[version - 1]} INSERT INTO schema_version VALUES ({version});"  # noqa: S608
                )
                if version in _STEPS:
                    await _STEPS[version](self.db)
                await self.db.commit()
            except BaseException:
                await self.db.rollback()
                raise

    async def close(self) -> None:
        async with self._chain_lock:
            if self._chain is not None:
                await self._chain.close()
                self._chain = None
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _write(self, sql: str, *args: Any) -> int:
        """Run one statement and commit; how many rows it changed."""
        cursor = await self.db.execute(sql, args)
        await self.db.commit()
        return cursor.rowcount

    async def _fetch(self, model: type[_R], sql: str, *args: Any) -> list[_R]:
        async with self.db.execute(sql, args) as cursor:
            return [model.model_validate_json(row[0]) for row in await cursor.fetchall()]

    # -- API keys -----------------------------------------------------------------------------------
    async def add_key(self, key: ApiKeyRecord) -> None:
        await self._write(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?)", key.id, key.key_hash, key.tenant, key.model_dump_json()
        )

    async def key_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        found = await self._fetch(ApiKeyRecord, "SELECT data FROM api_keys WHERE key_hash = ?", key_hash)
        return found[0] if found else None

    async def list_keys(self) -> list[ApiKeyRecord]:
        return await self._fetch(ApiKeyRecord, "SELECT data FROM api_keys ORDER BY id")

    # -- sandboxes ----------------------------------------------------------------------------------
    async def put_sandbox(self, sandbox: SandboxRecord) -> None:
        sandbox.updated_at = utcnow()
        await self._write(
            "INSERT OR REPLACE INTO sandboxes VALUES (?, ?, ?, ?)",
            sandbox.id,
            sandbox.tenant,
            sandbox.status.value,
            sandbox.model_dump_json(),
        )

    async def get_sandbox(self, sandbox_id: str) -> SandboxRecord | None:
        found = await self._fetch(SandboxRecord, "SELECT data FROM sandboxes WHERE id = ?", sandbox_id)
        return found[0] if found else None

    async def list_sandboxes(
        self, tenant: str | None = None, statuses: set[SandboxStatus] | None = None
    ) -> list[SandboxRecord]:
        wanted = sorted(s.value for s in statuses) if statuses is not None else []
        marks = ", ".join("?" for _ in wanted)
        status_clause = f"status IN ({marks})" if statuses is not None else "1"
        sql = f"SELECT data FROM sandboxes WHERE (? IS NULL OR tenant = ?) AND {status_clause} ORDER BY id"  # noqa: S608
        return await self._fetch(SandboxRecord, sql, tenant, tenant, *wanted)

    # -- history and audit --------------------------------------------------------------------------
    async def add_execution(self, execution: ExecutionRecord) -> None:
        await self.add_executions([execution])

    async def add_executions(self, executions: list[ExecutionRecord]) -> None:
        rows = [
            (e.id, e.tenant, e.sandbox_id, e.agent_id, e.status, _time(e.started_at), e.model_dump_json())
            for e in executions
        ]
        await self.db.executemany("INSERT INTO executions VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        await self.db.commit()

    async def list_executions(self, query: ExecutionQuery) -> list[ExecutionRecord]:
        clauses, args = ["tenant = ?"], [query.tenant]
        for column, value in (("sandbox_id", query.sandbox_id), ("agent_id", query.agent_id), ("status", query.status)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if query.since is not None:
            clauses.append("started_at >= ?")
            args.append(_time(query.since))
        if query.until is not None:
            clauses.append("started_at < ?")
            args.append(_time(query.until))
        sql = f"SELECT data FROM executions WHERE {' AND '.join(clauses)} ORDER BY started_at DESC, id DESC LIMIT ?"  # noqa: S608 - column names are ours
        return await self._fetch(ExecutionRecord, sql, *args, query.limit)

    async def prune_executions(self, before: datetime | None, keep: int | None) -> int:
        gone = 0
        if before is not None:
            gone += await self._write("DELETE FROM executions WHERE started_at < ?", _time(before))
        if keep is not None:
            async with self.db.execute("SELECT DISTINCT tenant FROM executions") as cursor:
                tenants = [row[0] for row in await cursor.fetchall()]
            for tenant in tenants:
                gone += await self._write(
                    "DELETE FROM executions WHERE tenant = ? AND id NOT IN (SELECT id FROM executions"
                    " WHERE tenant = ? ORDER BY started_at DESC, id DESC LIMIT ?)",
                    tenant,
                    tenant,
                    keep,
                )
        return gone

    async def add_audit(self, event: AuditEvent) -> None:
        await self.add_audits([event])

    async def add_audits(self, events: list[AuditEvent]) -> None:
        if not events:
            return
        async with self._chain_lock:
            db = await self._chain_db()
            await db.execute("BEGIN IMMEDIATE")  # the write lock, before the chain's end is read
            try:
                last, prev = await self._chain_end(db)
                rows: list[tuple[int, str, str | None, str, str]] = []
                for seq, event in enumerate(events, start=last + 1):
                    rows.append((seq, event.id, event.tenant, _time(event.created_at), event.chain(seq, prev)))
                    prev = event.hash or prev
                await db.executemany("INSERT INTO audit VALUES (?, ?, ?, ?, ?)", rows)
                await db.commit()
            except BaseException:
                await db.rollback()
                raise

    async def _chain_db(self) -> aiosqlite.Connection:
        if self._chain is None:
            self.db  # noqa: B018 - raises if the store is not open
            self._chain = await aiosqlite.connect(self.path, isolation_level=None)  # we say when to BEGIN
            await self._chain.execute("PRAGMA busy_timeout=5000")
        return self._chain

    @staticmethod
    async def _chain_end(db: aiosqlite.Connection) -> tuple[int, str]:
        """The last record's seq and hash (0 and the genesis hash in an empty log)."""
        async with db.execute("SELECT seq, data FROM audit ORDER BY seq DESC LIMIT 1") as cursor:
            row = await cursor.fetchone()
        if row is None:
            return 0, AuditEvent.GENESIS
        try:
            last = json.loads(row[1])["hash"]
        except (ValueError, TypeError, KeyError):  # mangled by hand: verify reports it; the chain goes on
            last = None
        return row[0], last if isinstance(last, str) else hashlib.sha256(row[1].encode()).hexdigest()

    async def list_audit(self, tenant: str | None = None, limit: int = 100) -> list[AuditEvent]:
        return await self._fetch(
            AuditEvent,
            "SELECT data FROM audit WHERE ? IS NULL OR tenant = ? ORDER BY seq DESC LIMIT ?",
            tenant,
            tenant,
            limit,
        )

    async def read_audit(
        self, *, after_seq: int | None = None, before_seq: int | None = None, limit: int = 1000, newest: bool = False
    ) -> list[tuple[int, str]]:
        where, order = "(? IS NULL OR seq > ?) AND (? IS NULL OR seq < ?)", "DESC" if newest else "ASC"
        sql = f"SELECT seq, data FROM audit WHERE {where} ORDER BY seq {order} LIMIT ?"  # noqa: S608
        async with self.db.execute(sql, (after_seq, after_seq, before_seq, before_seq, limit)) as cursor:
            return [(row[0], row[1]) for row in await cursor.fetchall()]
