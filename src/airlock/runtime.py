"""The runtime: owns the backends and the sandboxes, and the one path every execution takes.

``Runtime.execute`` is where every caller ends (CLI, and later the server, SDK, MCP, commands, RLM)::

    validate(request)                 unknown language, empty or oversized code: raise, nothing runs
    verdict = policy.admit(request)   risk, reasons, rung; PolicyDenied when refused (airlock.policy)
    sandbox = acquire(request)        on the verdict's rung: from the pool that fits, else a fresh one
    result = sandbox.exec(request)    secrets in, snapshots around it, rollback; outputs redacted
    keep_spilled_output(result)       output past the inline cap survives the sandbox
    release(sandbox)                  back to its pool (reset there), or destroyed
    history.record(result)            every execution, unless ``history.record`` is off
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

from airlock.backends import Backend, create_backend
from airlock.backends.base import OWNER_FILE
from airlock.config import Settings, load_settings
from airlock.errors import AirlockError, BackendUnavailable, EmptyCode, InvalidRequest, SandboxStateError
from airlock.history import LOCAL_TENANT, History
from airlock.languages import COMMAND, get_language
from airlock.models import ExecutionRequest, ExecutionResult, SandboxLimits, SandboxState, new_ulid
from airlock.policy import RUNGS, Policy, PolicyConfig
from airlock.policy.audit import AuditLog
from airlock.policy.egress import EgressAttempt
from airlock.pool import Pool, Pools
from airlock.sandbox import OutputCallback, Sandbox, check_code
from airlock.snapshots import SnapshotStore
from airlock.store.sqlite import SQLiteStore

__all__ = ["Runtime", "RuntimeState"]

logger = logging.getLogger(__name__)


class RuntimeState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Runtime:
    """Creates sandboxes and runs requests in them. Use it as ``async with Runtime() as rt``."""

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        self.settings = settings if settings is not None else load_settings(**overrides)
        self.state = RuntimeState.OPEN
        self._backends: dict[str, Backend] = {}
        self._sandboxes: dict[str, Sandbox] = {}
        #: Warm pools: those the settings declare start with ``await runtime.pools.start()``.
        self.pools = Pools(self)
        self.snapshots = SnapshotStore(self.settings.home / "snapshots", max_per_sandbox=self.settings.max_snapshots)
        #: Every execution of this runtime's sandboxes (tenant ``local``), in ``settings.database``;
        #: None when ``history.record`` is off. Opened on first use.
        self.history: History | None = None
        if self.settings.history.record:
            self.history = History(SQLiteStore(self.settings.database), self.settings.history, lazy=True)
        #: Judges every execution of this runtime's sandboxes before it runs (``settings.policy``).
        self.policy = self._policy(self.settings.policy)
        #: The hash-chained audit log (``airlock audit verify``), in ``settings.database``; opened on first use.
        self.audit: AuditLog | None = None
        self._audit_opening = asyncio.Lock()

    @property
    def closed(self) -> bool:
        return self.state is RuntimeState.CLOSED

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Destroy every sandbox this runtime created, and its pools'. Closing twice is a no-op."""
        self.state = RuntimeState.CLOSED
        await self.pools.close()
        sandboxes, self._sandboxes = list(self._sandboxes.values()), {}
        results = await asyncio.gather(*(sb.destroy() for sb in sandboxes), return_exceptions=True)
        for sandbox, outcome in zip(sandboxes, results, strict=False):
            if isinstance(outcome, BaseException):
                logger.error("could not destroy sandbox %s: %s", sandbox.id, outcome)
        if self.history is not None:
            await self.history.aclose()
        if self.audit is not None:
            await self.audit.aclose()
            await self.audit.store.close()

    # -- backends and sandboxes ---------------------------------------------------------------------
    def strongest_backend(self) -> str:
        """The strongest rung of the isolation ladder that runs on this host (high risk goes there)."""
        from airlock.backends import BACKENDS

        for name in reversed(RUNGS):
            if name in BACKENDS:
                try:
                    self.backend(name)
                except (BackendUnavailable, AirlockError):
                    continue
                return name
        return self.settings.backend

    def supervise(self, sandbox: Sandbox) -> None:
        """Hand a sandbox to callers: its executions are judged by the policy and recorded."""
        sandbox.recorder = self.record
        sandbox.guard = self.policy
        if sandbox.egress is not None:
            sandbox.egress.on_attempt = self._network_attempt

    async def _network_attempt(self, attempt: EgressAttempt) -> None:
        """Every connection a sandbox's egress proxy saw, allowed or refused: the network audit log."""
        detail = {"host": attempt.host, "port": attempt.port, "method": attempt.method, "reason": attempt.reason}
        action = "network.connect" if attempt.allowed else "network.refused"
        await self._audit(new_ulid(), action, {"sandbox_id": attempt.sandbox_id, "allowed": attempt.allowed, **detail})

    def _policy(self, config: PolicyConfig) -> Policy:
        return Policy(
            config,
            default_backend=self.settings.backend,
            strongest_backend=self.strongest_backend,
            max_code_bytes=self.settings.max_code_bytes,
            audit=self._audit,
        )

    def reload_policy(self, config: PolicyConfig | None = None) -> Policy:
        """Put a new policy in force: ``config``, else the settings file's ``[policy]`` read again
        (roles, limits, hooks, secrets); ``ConfigError`` when it is invalid, and the old one stays.

        The policy is swapped whole, never changed in place: an execution already admitted finishes
        under the policy that admitted it (its hooks, secrets and redaction); the next ones, in every
        sandbox of this runtime, are judged by the new one. Rate buckets carry over."""
        policy = self._policy(config if config is not None else load_settings().policy)
        policy.buckets = self.policy.buckets
        self.policy = policy
        for sandbox in self._sandboxes.values():
            if sandbox.guard is not None:
                sandbox.guard = policy
        return policy

    def backend(self, name: str | None = None) -> Backend:
        """The named backend (default: the configured one), checked to run on this host."""
        name = name or self.settings.backend
        if name not in self._backends:
            self._backends[name] = create_backend(name, self.settings)
        backend = self._backends[name]
        availability = backend.availability()
        if not availability.ok:
            raise BackendUnavailable(name, availability.reason, availability.hint)
        return backend

    async def create_sandbox(
        self,
        *,
        language: str = "python",
        backend: str | None = None,
        limits: SandboxLimits | None = None,
        env: dict[str, str] | None = None,
        start: bool = True,
        sandbox_id: str | None = None,
        recorded: bool = True,
    ) -> Sandbox:
        """A new sandbox, started unless ``start=False``. Destroy it, or let the runtime do it.
        Its executions go in the history unless ``recorded=False`` (a pool's own, until leased)."""
        if self.closed:
            raise SandboxStateError("this runtime is closed")
        get_language(language)
        chosen = self.backend(backend)
        sandbox_id = sandbox_id or new_ulid().lower()
        environment = await chosen.create(sandbox_id, limits or self.settings.limits, dict(env or {}))
        sandbox = Sandbox(environment, self.settings, backend=chosen.name, language=language, snapshots=self.snapshots)
        if recorded:
            self.supervise(sandbox)
        self._sandboxes[sandbox_id] = sandbox
        try:
            if start:
                await sandbox.start()
            if self.closed:  # closed while we were creating it: aclose could not see it
                raise SandboxStateError("this runtime was closed while the sandbox was created")
        except BaseException:
            await self._forget(sandbox)
            raise
        return sandbox

    async def reopen_sandbox(
        self,
        sandbox_id: str,
        *,
        language: str,
        backend: str,
        limits: SandboxLimits,
        env: dict[str, str] | None = None,
    ) -> Sandbox:
        """A handle on a sandbox whose workspace survived its runtime (a server restart); stopped."""
        if self.closed:
            raise SandboxStateError("this runtime is closed")
        chosen = self.backend(backend)
        environment = await chosen.reopen(sandbox_id, limits, dict(env or {}))
        sandbox = Sandbox(environment, self.settings, backend=chosen.name, language=language, snapshots=self.snapshots)
        sandbox.state = SandboxState.STOPPED
        self.supervise(sandbox)
        self._sandboxes[sandbox_id] = sandbox
        return sandbox

    async def reap(self, sandbox_id: str, backend: str) -> None:
        """Kill what a sandbox of a dead runtime still runs (its workspace stays)."""
        await asyncio.to_thread(self.backend(backend).reap, sandbox_id)

    async def reap_orphans(self, keep: set[str]) -> list[str]:
        """Remove the sandboxes that a process which has since died left behind (a crashed server's
        warm pools, a killed CLI), except those in ``keep``: whatever they still run is killed and
        their directories deleted. Sandboxes whose maker still lives are left alone. Returns the ids."""
        reaped = []
        for sandbox_id, backend in await asyncio.to_thread(_orphans, self.settings.sandboxes_dir, keep):
            try:
                await self.reap(sandbox_id, backend)
            except AirlockError as exc:
                logger.warning("could not reap orphaned sandbox %s: %s", sandbox_id, exc)
                continue
            await asyncio.to_thread(shutil.rmtree, self.settings.sandboxes_dir / sandbox_id, True)
            reaped.append(sandbox_id)
        return reaped

    async def fork(
        self,
        source: Sandbox,
        snapshot_id: str,
        *,
        limits: SandboxLimits | None = None,
        env: dict[str, str] | None = None,
    ) -> Sandbox:
        """A new sandbox whose files are the snapshot's, started; it shares nothing with ``source``
        after that (the snapshot's content is copied, not linked)."""
        await asyncio.to_thread(self.snapshots.get, source.id, snapshot_id)  # refused before anything is made
        sandbox = await self.create_sandbox(
            language=source.language, backend=source.backend, limits=limits, env=env, start=False
        )
        try:
            await asyncio.to_thread(
                self.snapshots.restore,
                source.id,
                snapshot_id,
                sandbox._trees(),
                owner=sandbox._env.owner,
                into=sandbox.id,
            )
            await sandbox.start()
        except BaseException:
            await self._forget(sandbox)
            raise
        return sandbox

    def get(self, sandbox_id: str) -> Sandbox | None:
        return self._sandboxes.get(sandbox_id)

    def detach(self, sandbox_id: str) -> None:
        """Stop tracking a sandbox, so closing the runtime leaves it (and its workspace) alone."""
        self._sandboxes.pop(sandbox_id, None)

    def adopt(self, sandbox: Sandbox) -> None:
        """Track a sandbox made elsewhere (taken from a pool): ``get`` finds it, closing destroys it."""
        if self.closed:
            raise SandboxStateError("this runtime is closed")
        self.supervise(sandbox)
        self._sandboxes[sandbox.id] = sandbox

    @asynccontextmanager
    async def sandbox(self, **kwargs: Any) -> AsyncIterator[Sandbox]:
        """``async with rt.sandbox(language="python") as sb``: started on entry, destroyed on exit."""
        sandbox = await self.create_sandbox(**kwargs)
        try:
            yield sandbox
        finally:
            await self._forget(sandbox)

    def sandboxes(self) -> list[Sandbox]:
        return list(self._sandboxes.values())

    async def _forget(self, sandbox: Sandbox) -> None:
        self._sandboxes.pop(sandbox.id, None)
        await sandbox.destroy()

    async def record(self, result: ExecutionResult, **what: Any) -> None:
        """Keep an execution in the history (``Sandbox.recorder``). It is written behind: a history
        that cannot be written is logged there, never raised into the execution."""
        if self.history is not None:
            await self.history.record(result, tenant=LOCAL_TENANT, **what)

    async def _audit(self, event_id: str, action: str, detail: dict[str, Any]) -> None:
        """The policy's decisions and outcomes, written behind into the audit chain."""
        async with self._audit_opening:
            if self.audit is None:
                store = SQLiteStore(self.settings.database)
                await store.open()
                self.audit = AuditLog(store, behind=True)
        target = detail.get("sandbox_id")
        await self.audit.append(
            action, tenant=LOCAL_TENANT, actor="runtime", target=target, event_id=event_id, **detail
        )

    # -- the one execution path ---------------------------------------------------------------------
    async def execute(
        self,
        request: ExecutionRequest,
        *,
        on_output: OutputCallback | None = None,
        keep_output: bool = True,
        role: str | None = None,
        agent_id: str | None = None,
    ) -> ExecutionResult:
        """Run one request in a sandbox of its own and return what happened.

        The policy judges it first for ``role`` (default: the policy's ``default_role``) and
        ``agent_id``: ``PolicyDenied`` when it refuses; else it runs on the rung the verdict names,
        and ``result.verdict`` holds the verdict and its audit id.
        ``on_output`` receives the output as it is produced (the result holds it too, capped).
        Output past the inline cap is copied to ``$AIRLOCK_HOME/outputs`` unless ``keep_output`` is
        False (then the result only says it was truncated). ``request.declared`` can only make it
        stricter (its risk is a floor under the analysis; ``network=False`` drops the role's egress);
        ``request.limits`` get a sandbox made for it, within the role's ``max_memory_mb``."""
        if request.pool is not None and "language" not in request.model_fields_set:  # the pool's language
            request = request.model_copy(update={"language": self.pools.get(request.pool).config.template.language})
        self._validate(request)
        policy = self.policy  # the one that admits it judges it to the end, whatever a reload does
        if request.limits is not None:
            policy.check_limits(role, request.limits.memory_mb)
        verdict = await policy.admit(request, role=role, agent_id=agent_id)
        if not request.declared.network:
            verdict.network = False  # the request gave up the egress its role would allow
        request = policy.request_of(verdict) or request  # a pre_exec hook may rewrite it
        try:
            sandbox, pool = await self._acquire(request.model_copy(update={"backend": verdict.isolation}))
        except BaseException:
            policy.forget(verdict)
            raise
        sandbox.guard, sandbox.role, sandbox.admitted = policy, role, verdict
        try:
            result = await self._run(sandbox, request, on_output, agent_id)
            if keep_output:
                await self._keep_spilled_output(sandbox, result)
            else:
                result.output_files, result.output_file_path = {}, None
        finally:
            if pool is not None:
                await pool.release(sandbox)
            else:
                await self._forget(sandbox)
        return result

    async def run(self, code: str, language: str = "python", **context: Any) -> ExecutionResult:
        """Shorthand: ``await rt.run("print(1)")``; keyword arguments go to ``ExecutionContext``."""
        return await self.execute(ExecutionRequest(code=code, language=language, context=context))

    def _validate(self, request: ExecutionRequest) -> None:
        """Reject what cannot run before a sandbox is spent on it."""
        if request.limits is not None and request.pool is not None:
            raise InvalidRequest("a request with limits of its own runs in a sandbox made for it, not in a pool")
        if request.limits is not None and request.limits.network and not self.settings.limits.network:
            raise InvalidRequest("a request may not ask for the host's network (limits.network)")
        if request.language == COMMAND:
            if not request.argv:
                raise EmptyCode("a command needs a non-empty argv")
            check_code("\0".join(request.argv), self.settings.max_code_bytes)
            return
        get_language(request.language)
        check_code(request.code, self.settings.max_code_bytes)

    async def _acquire(self, request: ExecutionRequest) -> tuple[Sandbox, Pool | None]:
        """A sandbox for the request, and the pool it goes back to: the pool the request names, the
        one that fits (``use_pools``), or none (a sandbox made for it)."""
        language = "bash" if request.language == COMMAND else request.language
        if request.limits is not None:
            sandbox = await self.create_sandbox(language=language, backend=request.backend, limits=request.limits)
            return sandbox, None
        if request.pool is not None:
            pool = self.pools.get(request.pool)
        elif self.settings.use_pools:
            pool = await self.pools.for_execution(request.backend, language)
        else:
            return await self.create_sandbox(language=language, backend=request.backend), None
        return await pool.acquire(), pool

    async def _run(
        self, sandbox: Sandbox, request: ExecutionRequest, on_output: OutputCallback | None, agent_id: str | None
    ) -> ExecutionResult:
        ctx = request.context
        options: dict[str, Any] = {
            "agent_id": agent_id,
            "on_output": on_output,
            "timeout_ms": ctx.timeout_ms,
            "env": ctx.env_vars,
            "cwd": ctx.working_dir,
            "stdin": request.stdin,
            "max_output_bytes": ctx.max_output_bytes,
        }
        if request.language == COMMAND:
            result = await sandbox.run_command(request.argv or [], **options)
        else:
            result = await sandbox.exec(request.code, request.language, context=request.repl_context, **options)
        if not ctx.capture_stdout:
            result.stdout = ""
        if not ctx.capture_stderr:
            result.stderr = ""
        result.metadata["session_id"] = ctx.session_id
        return result

    async def _keep_spilled_output(self, sandbox: Sandbox, result: ExecutionResult) -> None:
        """Copy output that spilled past the inline cap out of the sandbox before it goes away."""
        if not result.output_files or sandbox.state.value != "running":
            result.output_files, result.output_file_path = {}, None
            return
        keep = Path(self.settings.home) / "outputs"
        await asyncio.to_thread(keep.mkdir, parents=True, exist_ok=True, mode=0o700)
        kept = {}
        for stream, path in result.output_files.items():
            target = keep / f"{sandbox.id}.{stream}"
            try:
                data = await sandbox.read_file(path)
            except AirlockError as exc:
                logger.warning("could not keep %s of sandbox %s: %s", stream, sandbox.id, exc)
                continue
            await asyncio.to_thread(target.write_bytes, data)
            kept[stream] = str(target)
        result.output_files = kept
        result.output_file_path = kept.get("stdout") or kept.get("stderr")


def _orphans(root: Path, keep: set[str]) -> list[tuple[str, str]]:
    """(id, backend) of each sandbox directory under ``root`` whose maker is dead and not in ``keep``."""
    found = []
    for entry in root.iterdir() if root.is_dir() else ():
        try:
            pid, backend = (entry / OWNER_FILE).read_text().split()
        except (OSError, ValueError):
            continue  # not a sandbox directory, or one from before owners were written
        if entry.name not in keep and not _alive(int(pid)):
            found.append((entry.name, backend))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
