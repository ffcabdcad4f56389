"""Persistence: what the server keeps across restarts, behind one small async interface.

``SQLiteStore`` is the default (one file in ``$AIRLOCK_HOME``); a PostgreSQL store fills the same
``Store`` contract when state is shared between servers. Records are pydantic models; the store
never sees a sandbox object, only its record.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from airlock.models import SandboxLimits, SnapshotPolicy, new_ulid

__all__ = [
    "ApiKeyRecord",
    "AuditEvent",
    "ExecutionQuery",
    "ExecutionRecord",
    "SandboxRecord",
    "SandboxStatus",
    "Store",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SandboxStatus(StrEnum):
    """A sandbox's lifecycle state as the server keeps it (``lost``: it died with a server)."""

    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"
    DESTROYED = "destroyed"
    LOST = "lost"


class ApiKeyRecord(_Record):
    id: str = Field(default_factory=new_ulid)
    tenant: str
    name: str
    key_hash: str
    admin: bool = False
    role: str | None = Field(None, description="the policy role its executions are judged for; null: the default")
    created_at: datetime = Field(default_factory=utcnow)


class SandboxRecord(_Record):
    id: str
    tenant: str
    backend: str
    language: str
    status: SandboxStatus = SandboxStatus.CREATED
    limits: SandboxLimits = Field(default_factory=SandboxLimits)
    env: dict[str, str] = Field(default_factory=dict)
    policy: SnapshotPolicy = Field(default_factory=SnapshotPolicy)
    quarantined: str | None = Field(None, description="why no exec may run until a snapshot is restored")
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ExecutionRecord(_Record):
    id: str = Field(default_factory=new_ulid)
    tenant: str
    sandbox_id: str | None
    agent_id: str | None = None
    language: str
    code: str | None = Field(None, description="kept as the history's keep_code setting says")
    code_sha256: str | None = None
    exit_code: int
    status: str = Field(description="ok, error, timeout, killed or sandbox_died")
    error_name: str | None = None
    duration_ms: float = 0.0
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    snapshots: list[str] = Field(default_factory=list, description="the snapshots this execution took")
    rolled_back_to: str | None = Field(None, description="the snapshot the sandbox was rolled back to after it")
    started_at: datetime
    finished_at: datetime = Field(default_factory=utcnow)


class ExecutionQuery(_Record):
    tenant: str
    sandbox_id: str | None = None
    agent_id: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(100, ge=1, le=1000)


class AuditEvent(_Record):
    """One record of the audit log, a hash chain (see ``airlock.policy.audit``).

    The store fills ``seq``, ``prev_hash`` and ``hash`` as it appends the record: ``seq`` is the
    last record's plus one, ``prev_hash`` the last record's hash (``GENESIS`` for the first), and
    ``hash`` the SHA-256 of the record's canonical JSON without ``hash`` (``digest``).
    """

    #: The ``prev_hash`` of the first record.
    GENESIS: ClassVar[str] = "0" * 64

    id: str = Field(default_factory=new_ulid)
    tenant: str | None
    actor: str | None = Field(None, description="the API key's id, or 'cli'")
    action: str
    target: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)
    seq: int | None = Field(None, description="its place in the chain, from 1")
    prev_hash: str | None = Field(None, description="the hash of the record before it")
    hash: str | None = Field(None, description="SHA-256 of the record without this field")

    @staticmethod
    def digest(body: dict[str, Any]) -> str:
        """The hash of a record as stored (a JSON object): SHA-256, in hex, of its canonical JSON
        (keys sorted, no spaces, ASCII) without its ``hash`` field."""
        fields = {key: value for key, value in body.items() if key != "hash"}
        return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def chain(self, seq: int, prev_hash: str) -> str:
        """Make this the record after ``prev_hash`` at ``seq`` (filling ``hash``); returns the JSON
        to store, which is what the hash covers (later fields of this model do not change it)."""
        self.seq, self.prev_hash = seq, prev_hash
        body = self.model_dump(mode="json", exclude={"hash"})
        self.hash = self.digest(body)
        return json.dumps({**body, "hash": self.hash}, sort_keys=True, separators=(",", ":"))


class Store(ABC):
    """The server's persistent state. Every method is atomic on its own."""

    @abstractmethod
    async def open(self) -> None:
        """Connect and bring the schema up to date (migrations)."""

    @abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- API keys -----------------------------------------------------------------------------------
    @abstractmethod
    async def add_key(self, key: ApiKeyRecord) -> None: ...

    @abstractmethod
    async def key_by_hash(self, key_hash: str) -> ApiKeyRecord | None: ...

    @abstractmethod
    async def list_keys(self) -> list[ApiKeyRecord]: ...

    # -- sandboxes ----------------------------------------------------------------------------------
    @abstractmethod
    async def put_sandbox(self, sandbox: SandboxRecord) -> None:
        """Insert or replace the record (``updated_at`` is set to now)."""

    @abstractmethod
    async def get_sandbox(self, sandbox_id: str) -> SandboxRecord | None: ...

    @abstractmethod
    async def list_sandboxes(
        self, tenant: str | None = None, statuses: set[SandboxStatus] | None = None
    ) -> list[SandboxRecord]: ...

    # -- history and audit --------------------------------------------------------------------------
    @abstractmethod
    async def add_execution(self, execution: ExecutionRecord) -> None: ...

    @abstractmethod
    async def add_executions(self, executions: list[ExecutionRecord]) -> None:
        """Several at once, in one transaction."""

    @abstractmethod
    async def list_executions(self, query: ExecutionQuery) -> list[ExecutionRecord]:
        """Newest first."""

    @abstractmethod
    async def prune_executions(self, before: datetime | None, keep: int | None) -> int:
        """Delete the records started before ``before``, and past the newest ``keep`` of each
        tenant; returns how many went."""

    @abstractmethod
    async def add_audit(self, event: AuditEvent) -> None:
        """Append the event to the audit chain (filling its ``seq``, ``prev_hash`` and ``hash``)."""

    @abstractmethod
    async def add_audits(self, events: list[AuditEvent]) -> None:
        """Append several, in order, in one transaction. No two writers, in this process or
        another, may give out the same ``seq``."""

    @abstractmethod
    async def list_audit(self, tenant: str | None = None, limit: int = 100) -> list[AuditEvent]:
        """Newest first."""

    @abstractmethod
    async def read_audit(
        self, *, after_seq: int | None = None, before_seq: int | None = None, limit: int = 1000, newest: bool = False
    ) -> list[tuple[int, str]]:
        """The records with ``after_seq < seq < before_seq`` (``None``: no bound) exactly as stored,
        ``(seq, JSON)``: the first ``limit`` of them in seq order, or with ``newest`` the last
        ``limit``, newest first. For checking the chain, so nothing is parsed."""
