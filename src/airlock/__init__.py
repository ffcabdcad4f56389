"""Airlock: run code written by AI agents in isolated sandboxes on Linux, fast and safely.

async with airlock.Runtime() as rt:
    async with rt.sandbox(language="python") as sb:
        await sb.exec("x = 41")
        result = await sb.exec("print(x + 1)")      # "42\n": state persists

The same against a server (``airlock serve``): ``airlock.AsyncClient()`` in place of the runtime;
its sandboxes have the same methods. The SDK is imported when first used, so ``import airlock``
does not load httpx.
"""

from importlib import import_module as _import_module
from typing import TYPE_CHECKING as _TYPE_CHECKING

from airlock.config import Settings, load_settings
from airlock.errors import (
    AgentError,
    AirlockError,
    AuthenticationError,
    BackendUnavailable,
    CodeTooLarge,
    ConfigError,
    ControlTimeout,
    EmptyCode,
    ExecutionFailed,
    ExecutionTimeout,
    FileOperationError,
    FileTooLarge,
    InvalidRequest,
    PathOutsideWorkspace,
    PoolExhausted,
    PoolNotFound,
    RateLimited,
    SandboxDied,
    SandboxError,
    SandboxFileNotFound,
    SandboxNotFound,
    SandboxStartError,
    SandboxStateError,
    ServerUnavailable,
    SnapshotError,
    SnapshotNotFound,
    UnknownLanguage,
)
from airlock.history import History
from airlock.languages import LANGUAGES, Language, get_language
from airlock.models import (
    USE_DEFAULT,
    Capability,
    ExecutionContext,
    ExecutionError,
    ExecutionRequest,
    ExecutionResult,
    OutputChunk,
    PoolConfig,
    PoolStats,
    SandboxLimits,
    SandboxState,
    SnapshotId,
    SnapshotPolicy,
    Strategy,
    Template,
)
from airlock.pool import Pool
from airlock.remote import RemoteSandbox
from airlock.runtime import Runtime
from airlock.sandbox import FileInfo, Sandbox
from airlock.snapshots import SnapshotInfo
from airlock.sync import SyncRuntime, SyncSandbox

if _TYPE_CHECKING:
    from airlock.client import AsyncClient, Client

__version__ = "0.1.0"

__all__ = [
    "LANGUAGES",
    "USE_DEFAULT",
    "AgentError",
    "AirlockError",
    "AsyncClient",
    "AuthenticationError",
    "BackendUnavailable",
    "Capability",
    "Client",
    "CodeTooLarge",
    "ConfigError",
    "ControlTimeout",
    "EmptyCode",
    "ExecutionContext",
    "ExecutionError",
    "ExecutionFailed",
    "ExecutionRequest",
    "ExecutionResult",
    "ExecutionTimeout",
    "FileInfo",
    "FileOperationError",
    "FileTooLarge",
    "History",
    "InvalidRequest",
    "Language",
    "OutputChunk",
    "PathOutsideWorkspace",
    "Pool",
    "PoolConfig",
    "PoolExhausted",
    "PoolNotFound",
    "PoolStats",
    "RateLimited",
    "RemoteSandbox",
    "Runtime",
    "Sandbox",
    "SandboxDied",
    "SandboxError",
    "SandboxFileNotFound",
    "SandboxLimits",
    "SandboxNotFound",
    "SandboxStartError",
    "SandboxState",
    "SandboxStateError",
    "ServerUnavailable",
    "Settings",
    "SnapshotError",
    "SnapshotId",
    "SnapshotInfo",
    "SnapshotNotFound",
    "SnapshotPolicy",
    "Strategy",
    "SyncRuntime",
    "SyncSandbox",
    "Template",
    "UnknownLanguage",
    "__version__",
    "get_language",
    "load_settings",
]

#: Exported names whose modules load on first use (they pull in httpx).
_LAZY = {"AsyncClient": "airlock.client", "Client": "airlock.client"}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'airlock' has no attribute {name!r}")
    value = getattr(_import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
