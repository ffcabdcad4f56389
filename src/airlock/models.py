"""The data every layer shares: requests, results, snapshots ids, capabilities, limits, events."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from airlock.agent.protocol import MAX_FRAME_BYTES
from airlock.errors import ExecutionFailed, ExecutionTimeout
from airlock.languages import get_language

__all__ = [
    "BOOT_PHASES",
    "DEFAULT_MAX_OUTPUT_BYTES",
    "DEFAULT_TIMEOUT_MS",
    "MAX_INLINE_OUTPUT_BYTES",
    "MAX_PAYLOAD_BYTES",
    "USE_DEFAULT",
    "BootTimes",
    "Capability",
    "Declared",
    "ExecutionContext",
    "ExecutionError",
    "ExecutionRequest",
    "ExecutionResult",
    "OutputChunk",
    "PoolConfig",
    "PoolInfo",
    "PoolStats",
    "Reason",
    "Risk",
    "SandboxLimits",
    "SandboxState",
    "SnapshotId",
    "SnapshotPolicy",
    "Strategy",
    "Template",
    "UseDefault",
    "Verdict",
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
    SNAPSHOTS = "snapshots"  # of the filesystem
    MEMORY_SNAPSHOTS = "memory_snapshots"  # process memory too (no backend here can: CRIU fails on this kernel)
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
    pool: str | None = Field(None, description="run in a sandbox of this pool; default: the pool that fits")
    declared: Declared = Field(default_factory=lambda: Declared())
    limits: SandboxLimits | None = Field(
        None,
        description="a sandbox of these limits is made for it (no pool); the role's max_memory_mb applies, "
        "and limits.network (the host's network) must not be more than the settings give",
    )


class ExecutionError(_Model):
    """An exception raised by the user's code (or a compile error): data, not an exception here."""

    name: str
    value: str
    traceback: str = ""


class Risk(StrEnum):
    """How much harm code could do, in order: ``Risk.LOW < Risk.HIGH``."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def level(self) -> int:
        return _RISK_LEVELS[self]

    def __lt__(self, other: object) -> bool:
        return self.level < Risk(other).level if isinstance(other, str) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.level <= Risk(other).level if isinstance(other, str) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.level > Risk(other).level if isinstance(other, str) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.level >= Risk(other).level if isinstance(other, str) else NotImplemented


_RISK_LEVELS = {risk: level for level, risk in enumerate(Risk)}


class Reason(_Model):
    """One thing the policy found: the named pattern, how risky it is, and where (1-based line)."""

    pattern: str
    risk: Risk
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.message} [{self.pattern}, {self.risk.value}]"


class Declared(_Model):
    """What a request says of itself before it is analysed (a markdown command's frontmatter). It can
    only make the request stricter: the verdict's risk is at least ``risk`` and at least each of
    ``reasons``' (floors, never ceilings: the code is analysed all the same), and ``network=False``
    gives up the egress that the role would allow."""

    risk: Risk = Risk.LOW
    network: bool = True
    reasons: list[Reason] = Field(
        default_factory=list,
        description="findings its maker made of it (a markdown command: the analysis of its script with "
        "the values inlined), added to the verdict's reasons",
    )


class Verdict(_Model):
    """What the policy decided about a request before it ran, and where it sends it."""

    risk: Risk
    decision: Literal["allow", "deny"]
    isolation: str | None = Field(None, description="the backend it runs on; None when denied")
    network: bool = Field(False, description="whether it may reach the network (through the egress proxy)")
    reasons: list[Reason] = Field(default_factory=list)
    role: str = "default"
    audit_id: str | None = None
    analysis_ms: float = 0.0

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"


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
    snapshots: list[str] = Field(default_factory=list, description="ids of the snapshots this execution took")
    rolled_back_to: str | None = Field(None, description="the snapshot the sandbox was rolled back to after it")
    verdict: Verdict | None = Field(None, description="the policy's verdict on it, with its audit id")
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


# -- warm pools ---------------------------------------------------------------------------------------
#: The phases of a sandbox's boot, each timed on its own: the backend setting up and launching it, its
#: agent saying hello, and the first exec (which starts the language's REPL).
BOOT_PHASES = ("spawn", "agent_ready", "first_exec")


class Strategy(StrEnum):
    """Which idle sandbox a pool hands out."""

    FIRST_AVAILABLE = "first_available"  # the one idle longest
    LEAST_RECENTLY_USED = "least_recently_used"
    ROUND_ROBIN = "round_robin"  # in creation order, cycling
    WEIGHTED_RANDOM = "weighted_random"  # fresher (fewer uses) weighs more
    BEST_PERFORMANCE = "best_performance"  # lowest measured health-check latency


class Template(_Model):
    """What every sandbox of a pool is: backend, language, limits, files and set-up done up front."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$", description="the pool's name")
    backend: str | None = Field(None, description="default: the configured backend")
    language: str = "python"
    limits: SandboxLimits | None = Field(None, description="default: the configured limits")
    files: dict[str, str] = Field(
        default_factory=dict, description="workspace path -> content, in place at creation and after every reset"
    )
    setup: str | None = Field(
        None,
        description="code in the template's language, run once the files are in place (at creation, after each reset)",
    )
    warmup: bool = Field(True, description="start the language's REPL at creation and after every reset")

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        return get_language(value).name


class PoolConfig(_Model):
    """A pool of started sandboxes of one template; ``[[pools]]`` in the TOML config."""

    template: Template
    min_size: int = Field(0, ge=0, description="sandboxes (idle and leased) never trimmed below this")
    target_idle: int = Field(2, ge=0, description="idle sandboxes kept ready")
    max_size: int = Field(16, ge=1, description="idle and leased together")
    max_uses: int = Field(100, ge=1, description="leases per sandbox before it is replaced")
    max_age_s: float = Field(3600.0, gt=0, description="age at which a sandbox is replaced")
    strategy: Strategy = Strategy.FIRST_AVAILABLE
    when_empty: Literal["wait_then_create", "wait_then_fail"] = "wait_then_create"
    wait_s: float = Field(2.0, ge=0, description="how long an acquire waits for a sandbox to come back")
    health_interval_s: float = Field(10.0, gt=0)

    @property
    def name(self) -> str:
        return self.template.name

    @model_validator(mode="after")
    def _sizes_fit(self) -> Self:
        if self.min_size > self.max_size or self.target_idle > self.max_size:
            raise ValueError(f"min_size and target_idle must not exceed max_size ({self.max_size})")
        return self


class BootTimes(_Model):
    """One boot phase over the pool's recent sandboxes, in milliseconds."""

    count: int
    p50_ms: float
    p99_ms: float


class PoolStats(_Model):
    name: str
    backend: str
    language: str
    strategy: Strategy
    target_idle: int
    max_size: int
    idle: int
    leased: int
    creating: int
    resetting: int
    acquired: int
    cold_starts: int
    recycled: int
    exhausted: int
    failed: int = Field(description="creations that failed (the backend, the template's files or set-up)")
    last_error: str | None = Field(description="why the last creation failed")
    boot: dict[str, BootTimes] = Field(description="phase (spawn, agent_ready, first_exec) -> its times")


class PoolInfo(_Model):
    """A pool as the server shows it: its settings and its state."""

    name: str
    config: PoolConfig
    stats: PoolStats


class SnapshotPolicy(_Model):
    """What a sandbox snapshots around each execution, and whether a failure rolls it back."""

    snapshot_before_exec: bool = False
    snapshot_on_failure: bool = Field(False, description="keep the failed state to look at")
    auto_rollback_on_failure: bool = Field(
        False, description="restore the snapshot taken before the exec (implies snapshot_before_exec)"
    )
