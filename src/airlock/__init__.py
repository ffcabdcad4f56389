"""Airlock: run code written by AI agents in isolated sandboxes on Linux, fast and safely.

async with airlock.Runtime() as rt:
    async with rt.sandbox(language="python") as sb:
        await sb.exec("x = 41")
        result = await sb.exec("print(x + 1)")      # "42\n": state persists
"""

from airlock.config import Settings, load_settings
from airlock.errors import (
    AgentError,
    AirlockError,
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
    SandboxDied,
    SandboxError,
    SandboxFileNotFound,
    SandboxStartError,
    SandboxStateError,
    UnknownLanguage,
)
from airlock.languages import LANGUAGES, Language, get_language
from airlock.models import (
    USE_DEFAULT,
    Capability,
    ExecutionContext,
    ExecutionError,
    ExecutionRequest,
    ExecutionResult,
    OutputChunk,
    SandboxLimits,
    SandboxState,
    SnapshotId,
)
from airlock.runtime import Runtime
from airlock.sandbox import FileInfo, Sandbox
from airlock.sync import SyncRuntime, SyncSandbox

__version__ = "0.1.0"

__all__ = [
    "LANGUAGES",
    "USE_DEFAULT",
    "AgentError",
    "AirlockError",
    "BackendUnavailable",
    "Capability",
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
    "InvalidRequest",
    "Language",
    "OutputChunk",
    "PathOutsideWorkspace",
    "Runtime",
    "Sandbox",
    "SandboxDied",
    "SandboxError",
    "SandboxFileNotFound",
    "SandboxLimits",
    "SandboxStartError",
    "SandboxState",
    "SandboxStateError",
    "Settings",
    "SnapshotId",
    "SyncRuntime",
    "SyncSandbox",
    "UnknownLanguage",
    "__version__",
    "get_language",
    "load_settings",
]
