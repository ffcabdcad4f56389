"""The data every layer shares: requests, results, snapshots ids, capabilities, limits, events."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from airlock.agent.protocol import MAX_FRAME_BYTES
from airlock.errors import ExecutionFailed, ExecutionTimeout

__all__ = [
    "DEFAULT_MAX_OUTPUT_BYTES",
    "DEFAULT_TIMEOUT_MS",
    "MAX_INLINE_OUTPUT_BYTES",
    "MAX_PAYLOAD_BYTES",
    "USE_DEFAULT",
    "Capability",
    "ExecutionContext",
    "ExecutionError",
    "ExecutionRequest",
    "ExecutionResult",
    "OutputChunk",
    "SandboxLimits",
    "SandboxState",
    "SnapshotId",
    "UseDefault",
    "new_ulid",
]

DEFAULT_TIMEOUT_MS = 30_000
DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024
#: Limits that keep every reply within one protocol frame (base64 inflates by 4/3).
MAX_PAYLOAD_BYTES = MAX_FRAME_BYTES * 3 // 4 - 1024 * 1024
MAX_INLINE_OUTPUT_BYTES = MAX_PAYLOAD_BYTES // 2


class UseDefault(Enum):
    """The type of ``USE_DEFAULT``: "take the configured value", as opposed to ``None`` = "no limit"."""

    USE_DEFAULT = "USE_DEFAULT"


USE_DEFAULT = UseDefault.USE_DEFAULT

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid() -> str:
    """A ULID: 48 bits of milliseconds, 80 random bits, Crockford base32; sorts by creation time."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Capability(StrEnum):
    """What a backend can do, reported truthfully by each backend on each host."""

    VM_ISOLATION = "vm_isolation"
    CONTAINER_ISOLATION = "container_isolation"
    SNAPSHOTS = "snapshots"
    NETWORK_AUDIT = "network_audit"
    OVERLAY_FS = "overlay_fs"
    LLM_BRIDGE = "llm_bridge"
    DNS_ALLOWLIST = "dns_allowlist"
    RESOURCE_LIMITS = "resource_limits"
    PYTHON_EXECUTION = "python_execution"
    BASH_EXECUTION = "bash_execution"
    FILE_OPERATIONS = "file_operations"


class SandboxState(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"
    DESTROYED = "destroyed"


class SnapshotId(_Model):
    id: str = Field(default_factory=new_ulid)
    name: str
    session_id: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def __str__(self) -> str:
        return f"{self.name}:{self.id}"


class SandboxLimits(_Model):
    """Resources one sandbox may use. Enforced by cgroups where the host allows, else rlimits."""

    memory_mb: int = Field(512, ge=16)
    pids: int = Field(256, ge=8)
    cpus: float = Field(1.0, gt=0)
    tmpfs_mb: int = Field(256, ge=1)
    max_file_bytes: int = Field(32 * 1024 * 1024, ge=1, le=MAX_PAYLOAD_BYTES)
    spill_bytes: int = Field(64 * 1024 * 1024, ge=0, description="cap of each stream's spill file")
    network: bool = False


class ExecutionContext(_Model):
    """How one execution runs; the seed's context, field for field."""

    session_id: str = Field(default_factory=new_ulid)
    timeout_ms: int | None = Field(DEFAULT_TIMEOUT_MS, ge=1)
    working_dir: str | None = None
    env_vars: dict[str, str] = Field(default_factory=dict)
    capture_stdout: bool = True
    capture_stderr: bool = True
    max_output_bytes: int = Field(DEFAULT_MAX_OUTPUT_BYTES, ge=0, le=MAX_INLINE_OUTPUT_BYTES)
    cancellation_token: str | None = None
    session_token: str | None = None
    recursion_depth: int = Field(0, ge=0)


class ExecutionRequest(_Model):
    """What to run: source code in a language, or an argv (``language="command"``)."""

    code: str = ""
    argv: list[str] | None = None
    language: str = "python"
    stdin: bytes | None = None
    context: ExecutionContext = Field(default_factory=ExecutionContext)
    backend: str | None = None
    repl_context: str | None = Field(None, description="name of a persistent REPL context; None runs fresh")


class ExecutionError(_Model):
    """An exception raised by the user's code (or a compile error): data, not an exception here."""

    name: str
    value: str
    traceback: str = ""


class ExecutionResult(_Model):
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    execution_time_ms: float = 0.0
    output_truncated: bool = False
    output_file_path: str | None = None
    output_files: dict[str, str] = Field(default_factory=dict, description="stream -> full spilled output")
    timed_out: bool = False
    cancelled: bool = False
    oom_killed: bool = False
    sandbox_died: bool = False
    signal: int | None = None
    error: ExecutionError | None = None
    language: str | None = None
    sandbox_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.exit_code == 0 and not (self.timed_out or self.sandbox_died or self.oom_killed or self.cancelled)

    @property
    def text(self) -> str:
        return self.stdout + self.stderr

    def raise_for_error(self) -> ExecutionResult:
        """Raise ``ExecutionFailed`` (``ExecutionTimeout`` on a timeout) unless the run succeeded."""
        if self.timed_out:
            raise ExecutionTimeout("execution timed out", self)
        if not self.success:
            what = f"{self.error.name}: {self.error.value}" if self.error else f"exit code {self.exit_code}"
            raise ExecutionFailed(f"execution failed: {what}", self)
        return self


class OutputChunk(_Model):
    """A piece of output, streamed while the code runs."""

    stream: Literal["stdout", "stderr"]
    data: str
