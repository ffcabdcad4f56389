"""Running a command: its parameters checked, the caller's permissions and required concepts found,
its script rendered, and the script judged by the policy and run through ``Runtime.execute`` like any
other code.

    validate_params          unknown, missing or invalid parameters: ParameterError (nothing runs)
    check_permissions        the command's ``permissions`` against the role's: PolicyDenied
    check_concepts           knowledge_graph_required against the request's text: ConceptsMissing
    render                   the values as environment variables (Bash) or literals (Python)
    Runtime.execute          the policy judges the rendered script; the declared risk_level is a
                             floor under its analysis (critical: denied), and so is every finding of
                             its analysis of the script with the values inlined; then it runs

The request's text, for ``knowledge_graph_required``, is the caller's: the ``intent`` they give (what
they ask for, in their words) and the string values they pass (inside arrays and objects too), one
per line; never the command's own description or defaults. ``attempt`` (0 for the first try) counts
the rephrasings before this one: at ``[commands] max_retries`` a refusal escalates to a human.

Where it runs, by ``execution_mode`` (the risk is the worst of the declared one, the analysis of the
rendered script and that of the script with its values inlined):

    local     the ``process`` backend (the host's own processes, files and network) only when the
              command has no parameters at all, the risk is low, ``network_access`` is true and the
              role may pin it; otherwise as hybrid
    sandbox   the stronger of ``namespace`` and the policy's default backend; high risk: the stronger
              of that and the host's strongest rung
    microvm   the ``microvm`` backend, or BackendUnavailable saying why (never a fallback)
    hybrid    the policy's routing

``resource_limits``: ``max_memory_mb`` and ``max_disk_mb`` (the sandbox's /tmp) make a sandbox of
those limits for the run (the role's ``max_memory_mb`` still applies; a ``max_disk_mb`` above the
settings' ``limits.tmpfs_mb`` is refused, InvalidRequest); ``max_cpu_time`` and ``timeout`` bound the
execution's timeout (the shorter wins; neither: the settings' default, and the role's
``max_timeout_ms`` still applies); ``network_access`` lets the run have the role's egress when the
policy allows it (low risk), and without it the run has no network at all.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airlock.commands.params import texts, validate_params
from airlock.commands.registry import project_commands
from airlock.commands.schema import CommandDefinition, ExecutionMode
from airlock.commands.script import analysed_copy, render
from airlock.config import Settings
from airlock.errors import BackendUnavailable, ConceptsMissing, ConfigError, InvalidRequest
from airlock.models import (
    Declared,
    ExecutionContext,
    ExecutionRequest,
    ExecutionResult,
    Reason,
    Risk,
    SandboxLimits,
    Verdict,
)
from airlock.policy.analysis import read
from airlock.policy.engine import rung

if TYPE_CHECKING:
    from airlock.knowledge import KnowledgeValidator, Matcher
    from airlock.runtime import Runtime
    from airlock.sandbox import OutputCallback

__all__ = ["build_request", "check_concepts", "request_text", "run_command", "thesaurus_path"]


async def run_command(
    runtime: Runtime,
    definition: CommandDefinition,
    params: Mapping[str, Any],
    *,
    role: str | None = None,
    agent_id: str | None = None,
    on_output: OutputCallback | None = None,
    keep_output: bool = True,
    intent: str | None = None,
    attempt: int = 0,
) -> ExecutionResult:
    """Run ``definition`` with ``params`` (typed values, as ``parse_params`` or JSON give them) for
    ``role`` and return what happened; ``PolicyDenied`` when the role lacks one of its permissions or
    the policy refuses the script. ``intent`` and ``attempt`` are for ``knowledge_graph_required``;
    ``on_output`` and ``keep_output`` are ``Runtime.execute``'s."""
    values = validate_params(definition, params)
    runtime.policy.check_permissions(role, definition.permissions, what=definition.name)
    given = {name: value for name, value in values.items() if name in params}  # the caller's, not the defaults
    await check_concepts(runtime.settings, definition, given, intent=intent, attempt=attempt)
    request = build_request(runtime, definition, values, role=role)
    result = await runtime.execute(request, on_output=on_output, keep_output=keep_output, role=role, agent_id=agent_id)
    result.metadata["command"] = definition.name
    return result


def build_request(
    runtime: Runtime, definition: CommandDefinition, values: Mapping[str, Any], *, role: str | None = None
) -> ExecutionRequest:
    """The execution request of a command with checked ``values``: its script rendered, its declared
    risk, findings (the analysis of the script with the values inlined) and network, its limits,
    timeout and backend."""
    parameters = {p.name: p for p in definition.parameters}
    code, env = render(definition.script, parameters, values)
    language = definition.script.language
    limits = definition.resource_limits
    verdict = runtime.policy.assess(code, language, role=role)  # a dry run: no rate spent, nothing audited
    inlined = analysed_copy(definition.script, code, env)
    floor = _inlined_findings(runtime, inlined, language, verdict) if inlined != code else []
    declared = Declared(risk=definition.risk_level, network=bool(limits and limits.network_access), reasons=floor)
    risk = max([verdict.risk, declared.risk, *(r.risk for r in floor)], key=lambda r: r.level)
    return ExecutionRequest(
        code=code,
        language=language,
        context=ExecutionContext(timeout_ms=_timeout_ms(definition, runtime.settings), env_vars=env),
        backend=_backend(runtime, definition, risk, role),
        declared=declared,
        limits=_limits(definition, runtime.settings),
    )


def _inlined_findings(runtime: Runtime, inlined: str, language: str, verdict: Verdict) -> list[Reason]:
    """What the analysis finds in the script with its values inlined that it does not find in the
    rendered one (which the policy reads anyway); a failed analysis is a critical finding."""
    try:
        findings = read(inlined, language)
    except Exception as exc:  # noqa: BLE001  (a bug of the analysis, or input it cannot take: deny)
        failed = f"with the values inlined, the analysis failed: {type(exc).__name__}"
        return [Reason(pattern="policy.analysis-failed", risk=Risk.CRITICAL, message=failed)]
    found = {(r.pattern, r.line) for r in verdict.reasons}
    blacklisted = sorted(findings.commands & set(runtime.policy.config.blacklist))
    reasons = [
        *findings.reasons,
        *(
            Reason(pattern="policy.blacklist", risk=Risk.CRITICAL, message=f"{c} is on the blacklist")
            for c in blacklisted
        ),
    ]
    return [
        r.model_copy(update={"message": f"with the values inlined: {r.message}"})
        for r in reasons
        if (r.pattern, r.line) not in found
    ]


def _timeout_ms(definition: CommandDefinition, settings: Settings) -> int:
    bounds = [definition.timeout, definition.resource_limits.max_cpu_time if definition.resource_limits else None]
    given = [seconds for seconds in bounds if seconds is not None]
    return math.ceil(min(given) * 1000) if given else settings.default_timeout_ms


def _limits(definition: CommandDefinition, settings: Settings) -> SandboxLimits | None:
    asked = definition.resource_limits
    if asked is None or (asked.max_memory_mb is None and asked.max_disk_mb is None):
        return None
    if asked.max_disk_mb is not None and asked.max_disk_mb > settings.limits.tmpfs_mb:
        raise InvalidRequest(
            f"{definition.name} asks for a {asked.max_disk_mb} MB /tmp (max_disk_mb); this host's sandboxes get at "
            f"most {settings.limits.tmpfs_mb} MB (limits.tmpfs_mb): lower it, or raise the setting"
        )
    update = {"memory_mb": asked.max_memory_mb, "tmpfs_mb": asked.max_disk_mb}
    return settings.limits.model_copy(update={k: v for k, v in update.items() if v is not None})


def _backend(runtime: Runtime, definition: CommandDefinition, risk: Risk, role: str | None) -> str | None:
    """The backend to pin for the command's mode, or None for the policy's routing."""
    mode = definition.execution_mode
    if mode is ExecutionMode.MICROVM:
        _require_microvm(runtime)
        return "microvm"
    policy = runtime.policy
    if mode is ExecutionMode.LOCAL:
        allowed = policy.role(role)[1].backends
        limits = definition.resource_limits
        on_host = not definition.parameters and risk is Risk.LOW and bool(limits and limits.network_access)
        return "process" if on_host and (allowed is None or "process" in allowed) else None
    if mode is ExecutionMode.HYBRID:
        return None
    sandbox = max("namespace", policy.default_backend, key=rung)
    return max(sandbox, policy.strongest_backend, key=rung) if risk >= Risk.HIGH else sandbox


def _require_microvm(runtime: Runtime) -> None:
    from airlock.backends import BACKENDS

    if "microvm" not in BACKENDS:
        raise BackendUnavailable(
            "microvm",
            "this Airlock has no microVM backend yet (a guest kernel under Firecracker or QEMU+KVM); "
            "the command asks for one (execution_mode: microvm or firecracker), and it does not run anywhere weaker",
            "set execution_mode to sandbox or hybrid to run it in a namespace sandbox",
        )
    runtime.backend("microvm")  # BackendUnavailable with the backend's own reason


# -- knowledge_graph_required --------------------------------------------------------------------------
def thesaurus_path(settings: Settings) -> Path | None:
    """The configured thesaurus, else the project's ``commands/thesaurus.json`` (when the project's
    commands are in use, and it is there)."""
    if settings.commands.thesaurus is not None:
        return settings.commands.thesaurus.expanduser()
    project = project_commands() if settings.commands.builtin else None
    shipped = project / "thesaurus.json" if project is not None else None
    return shipped if shipped is not None and shipped.is_file() else None


def request_text(values: Mapping[str, Any], intent: str | None = None) -> str:
    """What ``knowledge_graph_required`` is checked against: the caller's ``intent``, then each string
    among the caller's values (in arrays and objects too), one per line."""
    return "\n".join([*([intent] if intent else []), *(text for value in values.values() for text in texts(value))])


async def check_concepts(
    settings: Settings,
    definition: CommandDefinition,
    values: Mapping[str, Any],
    *,
    intent: str | None = None,
    attempt: int = 0,
) -> None:
    """``ConceptsMissing`` (with the validator's feedback; ``escalate`` once ``attempt`` reaches
    ``max_retries``) unless the caller's request touches every concept the command requires;
    ``values`` are those the caller gave (not the defaults). ``ConfigError`` when it requires some and
    there is no thesaurus."""
    required = definition.knowledge_graph_required
    if not required:
        return
    path = thesaurus_path(settings)
    if path is None:
        raise ConfigError(
            f"{definition.name} requires the concepts {', '.join(required)}, and no thesaurus is configured "
            "to check them ([commands] thesaurus): it is refused"
        )
    validator = await asyncio.to_thread(_validator, path, settings)
    outcome = validator.validate(request_text(values, intent), required=tuple(required), attempt=attempt)
    if not outcome.passed:
        raise ConceptsMissing(
            f"{definition.name}: {outcome.message}",
            missing=list(outcome.missing),
            feedback=outcome.feedback,
            retry=outcome.retry,
            escalate=outcome.escalate,
        )


def _validator(path: Path, settings: Settings) -> KnowledgeValidator:
    from airlock.knowledge import KnowledgeValidator, Strictness

    config = settings.commands
    matcher = _matcher(path.resolve(), _stamp(path))
    return KnowledgeValidator(matcher, strictness=Strictness(config.strictness), max_retries=config.max_retries)


def _stamp(path: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when the thesaurus does: each file's name, modification time and size."""
    files = sorted(path.rglob("*.md")) if path.is_dir() else [path]
    try:
        return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    except OSError:
        return ()  # gone: loading it says why


@lru_cache(maxsize=4)
def _matcher(path: Path, stamp: tuple[tuple[str, int, int], ...]) -> Matcher:
    """The thesaurus's automaton, built once per version of its file (or folder)."""
    from airlock.knowledge import Matcher, from_markdown, load_json

    del stamp  # the cache's key: a changed file is another entry
    return Matcher(from_markdown(path) if path.is_dir() else load_json(path))  # ConfigError when it cannot be used
