"""Every exception Airlock raises, under one root.

Failures of the code a sandbox runs are data (an ``ExecutionResult`` with a non-zero exit code, a
timeout flag, an error's name and traceback); these exceptions are for the infrastructure and for
requests that cannot be carried out. Leaves also inherit the matching builtin, so
``except TimeoutError`` and ``except ValueError`` work as expected::

    AirlockError
    ├── ConfigError (ValueError)              settings that cannot be used
    │   └── DefinitionError                   a command file that cannot be used; each problem with file and line
    ├── InvalidRequest (ValueError)           nothing was run
    │   ├── UnknownLanguage
    │   ├── EmptyCode
    │   ├── CodeTooLarge
    │   ├── ParameterError                    a command's parameters do not fit its definition
    │   └── ConceptsMissing                   a command's request misses its required knowledge-graph concepts
    ├── BackendUnavailable (RuntimeError)     this host cannot run that backend; says what to install
    ├── SandboxError (RuntimeError)
    │   ├── SandboxStateError                 an illegal lifecycle transition (exec on a stopped sandbox)
    │   ├── SandboxStartError                 the environment or its agent did not come up
    │   ├── SandboxDied (ConnectionError)     the agent went away mid-request
    │   └── AgentError                        the agent refused a request
    ├── ControlTimeout (TimeoutError)         a control-plane step (start, file op) took too long
    ├── FileOperationError (OSError)
    │   ├── SandboxFileNotFound (FileNotFoundError)
    │   ├── PathOutsideWorkspace (PermissionError)
    │   └── FileTooLarge (ValueError)
    ├── ExecutionFailed                       opt-in: ``result.raise_for_error()``
    │   └── ExecutionTimeout (TimeoutError)
    ├── SandboxNotFound (LookupError)         the server has no such sandbox (for this API key)
    ├── CommandNotFound (LookupError)         no markdown command of that name or alias
    ├── PoolNotFound (LookupError)            no pool of that name
    ├── SnapshotNotFound (LookupError)        no snapshot of that id for that sandbox
    ├── SnapshotError                         a snapshot that cannot be taken or restored (``partial``:
    │                                         the tree was left half-restored; the sandbox is quarantined)
    ├── PoolExhausted (TimeoutError)          a drained pool had no sandbox within its wait deadline
    ├── AuthenticationError (PermissionError) the server refused the API key, or none was sent
    ├── PolicyDenied (PermissionError)        the policy refused the request; ``verdict`` says why
    ├── RateLimited                           a per-tenant limit of the server; ``retry_after`` seconds
    ├── ServerUnavailable (ConnectionError)   no server answers at that URL (start one: ``airlock serve``)
    └── ModelError (RuntimeError)             a model call failed for good (after its retries);
        └── ModelNotConfigured                no model endpoint is configured (``[llm]``)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airlock.models import ExecutionResult, Verdict

__all__ = [
    "AgentError",
    "AirlockError",
    "AuthenticationError",
    "BackendUnavailable",
    "CodeTooLarge",
    "CommandNotFound",
    "ConceptsMissing",
    "ConfigError",
    "ControlTimeout",
    "DefinitionError",
    "EmptyCode",
    "ExecutionFailed",
    "ExecutionTimeout",
    "FileOperationError",
    "FileTooLarge",
    "InvalidRequest",
    "ModelError",
    "ModelNotConfigured",
    "ParameterError",
    "PathOutsideWorkspace",
    "PolicyDenied",
    "PoolExhausted",
    "PoolNotFound",
    "RateLimited",
    "SandboxDied",
    "SandboxError",
    "SandboxFileNotFound",
    "SandboxNotFound",
    "SandboxStartError",
    "SandboxStateError",
    "ServerUnavailable",
    "SnapshotError",
    "SnapshotNotFound",
    "UnknownLanguage",
    "agent_error",
]


class AirlockError(Exception):
    """The root of every Airlock exception."""


class ConfigError(AirlockError, ValueError):
    pass


class InvalidRequest(AirlockError, ValueError):
    pass


class UnknownLanguage(InvalidRequest):
    pass


class EmptyCode(InvalidRequest):
    pass


class CodeTooLarge(InvalidRequest):
    pass


class DefinitionError(ConfigError):
    """A markdown command file that cannot be used. ``problems`` are (line, message) pairs, the line
    1-based in ``path`` (None: the file as a whole); the message names both."""

    def __init__(self, path: str, problems: list[tuple[int | None, str]]) -> None:
        self.path, self.problems = path, problems
        super().__init__("\n".join(f"{path}:{line}: {text}" if line else f"{path}: {text}" for line, text in problems))


class ParameterError(InvalidRequest):
    pass


class ConceptsMissing(InvalidRequest):
    """The request of a command with ``knowledge_graph_required`` does not touch its concepts:
    ``feedback`` says how to rephrase; ``missing`` the concepts not found."""

    def __init__(self, message: str, *, missing: list[str], feedback: str, retry: bool, escalate: bool) -> None:
        super().__init__(message)
        self.missing, self.feedback, self.retry, self.escalate = missing, feedback, retry, escalate


class CommandNotFound(AirlockError, LookupError):
    """No command of that name or alias; ``suggestions`` are the names closest to it."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no command {name!r}{hint}")
        self.name, self.suggestions = name, suggestions


class BackendUnavailable(AirlockError, RuntimeError):
    def __init__(self, backend: str, reason: str, hint: str = "") -> None:
        self.backend, self.reason, self.hint = backend, reason, hint
        super().__init__(f"backend {backend!r} cannot run on this host: {reason}" + (f" ({hint})" if hint else ""))


class SandboxError(AirlockError, RuntimeError):
    pass


class SandboxStateError(SandboxError):
    pass


class SandboxStartError(SandboxError):
    pass


class SandboxDied(SandboxError, ConnectionError):
    pass


class AgentError(SandboxError):
    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(f"{kind}: {message}")


class ControlTimeout(AirlockError, TimeoutError):
    pass


class FileOperationError(AirlockError, OSError):
    pass


class SandboxFileNotFound(FileOperationError, FileNotFoundError):
    pass


class PathOutsideWorkspace(FileOperationError, PermissionError):
    pass


class FileTooLarge(FileOperationError, ValueError):
    pass


class ExecutionFailed(AirlockError):
    def __init__(self, message: str, result: ExecutionResult) -> None:
        super().__init__(message)
        self.result = result


class ExecutionTimeout(ExecutionFailed, TimeoutError):
    pass


_FILE_ERRORS: dict[str, type[FileOperationError]] = {
    "FileNotFound": SandboxFileNotFound,
    "PathOutsideWorkspace": PathOutsideWorkspace,
    "FileTooLarge": FileTooLarge,
}


def agent_error(error: dict[str, Any]) -> AirlockError:
    """Translate an error reply of the agent into the matching exception."""
    kind, message = str(error.get("type", "Error")), str(error.get("message", ""))
    if kind in _FILE_ERRORS:
        return _FILE_ERRORS[kind](message)
    if kind in (
        "InvalidPath",
        "PermissionDenied",
        "IsADirectory",
        "NotADirectory",
        "FileExists",
        "DirectoryNotEmpty",
        "NoSpace",
        "FileError",
    ):
        return FileOperationError(f"{kind}: {message}")
    return AgentError(kind, message)


class SandboxNotFound(AirlockError, LookupError):
    pass


class PoolNotFound(AirlockError, LookupError):
    pass


class PoolExhausted(AirlockError, TimeoutError):
    """No sandbox could be had within the pool's wait deadline (and cold creation was not allowed)."""


class AuthenticationError(AirlockError, PermissionError):
    pass


class PolicyDenied(AirlockError, PermissionError):
    """The policy refused to run it. ``verdict`` has the risk and the reasons, each naming its pattern
    and line; ``retry_after`` is set when only a rate limit stood in the way."""

    def __init__(self, verdict: Verdict, retry_after: float | None = None) -> None:
        worst = [r for r in verdict.reasons if r.risk == "critical"] or verdict.reasons
        because = "; ".join(str(reason) for reason in worst[:3]) or "denied"
        super().__init__(f"denied by the policy ({verdict.risk.value} risk): {because}")
        self.verdict = verdict
        self.retry_after = retry_after


class RateLimited(AirlockError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerUnavailable(AirlockError, ConnectionError):
    pass


class ModelError(AirlockError, RuntimeError):
    """A model call that failed for good: ``status`` is the last HTTP status (None: no answer),
    ``attempts`` how many tries were made."""

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class ModelNotConfigured(ModelError):
    pass


class SnapshotNotFound(AirlockError, LookupError):
    pass


class SnapshotError(AirlockError):
    """A snapshot could not be taken or restored; ``partial`` when the tree was left half-restored."""

    def __init__(self, message: str, *, partial: bool = False) -> None:
        super().__init__(message)
        self.partial = partial
