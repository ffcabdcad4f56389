"""The shapes of the REST API's requests and replies (they make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from airlock.models import MAX_INLINE_OUTPUT_BYTES, ExecutionResult, PoolInfo, SnapshotPolicy
from airlock.snapshots import SnapshotInfo
from airlock.store import ExecutionRecord, SandboxStatus

__all__ = [
    "ContextReset",
    "CreateSandbox",
    "ExecBody",
    "ExecutionList",
    "ExecutionView",
    "FileEntry",
    "FileList",
    "LimitsPatch",
    "LlmExecute",
    "LlmExecuteResult",
    "LlmParseExecute",
    "LlmParseExecuteResult",
    "PoolList",
    "Rollback",
    "RunBody",
    "SandboxList",
    "SandboxView",
    "SnapshotList",
    "TakeSnapshot",
    "Written",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: Environment variables as a process can have them: names are identifiers, no value holds NUL.
_EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=256)]
_EnvValue = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$", max_length=65536)]
_Env = dict[_EnvName, _EnvValue]
_Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]


class LimitsPatch(_Body):
    """Limits to change from the server's defaults; what is left out keeps its default."""

    memory_mb: int | None = Field(None, ge=64, le=1 << 20)
    pids: int | None = Field(None, ge=8, le=1 << 16)
    cpus: float | None = Field(None, ge=0.01, le=256)
    tmpfs_mb: int | None = Field(None, ge=1, le=1 << 20)
    network: bool | None = None


class CreateSandbox(_Body):
    language: str | None = Field(None, max_length=64, description="default: python, or the pool's language")
    backend: str | None = Field(None, max_length=64)
    pool: str | None = Field(None, max_length=64, description="take a sandbox of this pool (its template decides)")
    limits: LimitsPatch = Field(default_factory=LimitsPatch)
    env: _Env = Field(default_factory=dict)
    snapshot_policy: SnapshotPolicy = Field(
        default_factory=SnapshotPolicy, description="snapshots around each exec, and rollback on failure"
    )


class SandboxView(BaseModel):
    id: str
    status: SandboxStatus
    backend: str
    language: str
    limits: dict[str, Any]
    capabilities: list[str]
    snapshot_policy: SnapshotPolicy
    quarantined: str | None = Field(description="why nothing may run until a snapshot is restored")
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class SandboxList(BaseModel):
    sandboxes: list[SandboxView]


class ExecBody(_Body):
    code: str = ""
    argv: list[str] | None = Field(None, description="run this program instead of code (language 'command')")
    language: str | None = Field(None, max_length=64, description="default: the sandbox's language")
    context: str | None = Field("default", max_length=128, description="REPL context; null runs fresh")
    timeout_ms: int | None = Field(None, ge=1, le=24 * 3600 * 1000, description="default: the server's")
    max_output_bytes: int | None = Field(None, ge=0, le=MAX_INLINE_OUTPUT_BYTES)
    env: _Env = Field(default_factory=dict)
    cwd: _Text | None = Field(None, max_length=4096)
    stdin: str | None = None
    stdin_b64: str | None = Field(None, description="binary stdin, base64; instead of stdin")
    agent_id: str | None = Field(None, max_length=256)


class RunBody(ExecBody):
    language: str | None = Field(None, max_length=64, description="default: python, or the pool's language")
    backend: str | None = Field(None, max_length=64)
    pool: str | None = Field(None, max_length=64, description="run in a sandbox of this pool")


class ExecutionView(ExecutionResult):
    execution_id: str


class ExecutionList(BaseModel):
    executions: list[ExecutionRecord]


class FileEntry(BaseModel):
    name: str
    path: str
    type: str
    size: int
    mode: int
    mtime: float


class FileList(BaseModel):
    entries: list[FileEntry]


class Written(BaseModel):
    path: str
    size: int


class ContextReset(_Body):
    language: str | None = Field(None, max_length=64)
    context: str = Field("default", max_length=128)


class LlmExecute(_Body):
    """The seeds' ``/api/llm/execute`` request."""

    agent_id: str = Field(..., max_length=256)
    language: str = Field(..., max_length=64)
    code: str
    vm_id: str | None = Field(None, max_length=64)
    timeout_seconds: float | None = Field(None, gt=0, le=24 * 3600)
    timeout_ms: int | None = Field(None, ge=1, le=24 * 3600 * 1000)
    working_dir: _Text | None = Field(None, max_length=4096)


class LlmExecuteResult(BaseModel):
    execution_id: str
    agent_id: str
    vm_id: str | None
    language: str
    stdout: str
    stderr: str
    exit_code: int
    success: bool
    timed_out: bool
    duration_ms: float
    started_at: datetime
    completed_at: datetime
    error: str | None = None


class LlmParseExecute(_Body):
    """The seeds' ``/api/llm/parse-execute`` request: run the fenced code blocks of an LLM reply."""

    agent_id: str = Field(..., max_length=256)
    llm_response: str
    vm_id: str | None = Field(None, max_length=64)
    stop_on_failure: bool = True
    timeout_seconds: float | None = Field(None, gt=0, le=24 * 3600)
    timeout_ms: int | None = Field(None, ge=1, le=24 * 3600 * 1000)


class LlmParseExecuteResult(BaseModel):
    blocks_found: int
    results: list[LlmExecuteResult]
    skipped: list[dict[str, Any]] = Field(description="blocks not run: a language Airlock does not run")
    stopped_early: bool


class PoolList(BaseModel):
    pools: list[PoolInfo]


class TakeSnapshot(_Body):
    name: str = Field("snapshot", min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]*$")
    pinned: bool = Field(False, description="never removed to make room under the cap")


class SnapshotList(BaseModel):
    snapshots: list[SnapshotInfo] = Field(description="oldest first")


class Rollback(_Body):
    agent_id: str | None = Field(None, max_length=256, description="the agent whose last success to go back to")
