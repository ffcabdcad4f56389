"""What the server does, tenant by tenant, on top of a ``Runtime`` and a ``Store``.

Every operation names the principal asking; a sandbox of another tenant is "not found" (404), never
"forbidden", so ids cannot be probed. Every state change is written to the store before it is
answered, so a restart finds what the clients were told.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from airlock.commands import CommandDefinition, run_command
from airlock.config import Settings
from airlock.errors import (
    AirlockError,
    BackendUnavailable,
    PoolExhausted,
    SandboxError,
    SandboxStartError,
    SandboxStateError,
)
from airlock.history import History
from airlock.languages import COMMAND, get_language
from airlock.models import ExecutionRequest, ExecutionResult, PoolConfig, SandboxLimits, SandboxState, Template
from airlock.pool import Pool
from airlock.runtime import Runtime
from airlock.sandbox import OutputCallback, Sandbox
from airlock.server.auth import Principal
from airlock.server.errors import ApiError
from airlock.server.metrics import Metrics
from airlock.server.schemas import CreateSandbox, ExecBody, RunBody
from airlock.store import AuditEvent, SandboxRecord, SandboxStatus, Store, utcnow

__all__ = ["LIVE", "SandboxService"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

LIVE = {SandboxStatus.CREATED, SandboxStatus.RUNNING, SandboxStatus.STOPPED}
_STATUS = {
    SandboxState.CREATED: SandboxStatus.CREATED,
    SandboxState.RUNNING: SandboxStatus.RUNNING,
    SandboxState.STOPPED: SandboxStatus.STOPPED,
    SandboxState.DESTROYED: SandboxStatus.DESTROYED,
}


class SandboxService:
    def __init__(self, settings: Settings, store: Store, runtime: Runtime, metrics: Metrics) -> None:
        self.settings = settings
        self.store = store
        self.runtime = runtime
        self.metrics = metrics
        self.history = History(store, settings.history)
        self._execs: Counter[str] = Counter()
        self._creating: Counter[str] = Counter()
        self._locks: dict[str, asyncio.Lock] = {}
        self._inflight: set[asyncio.Task[Any]] = set()
        self._principals: dict[str, Principal] = {}  # key hash -> principal; keys are never changed
        self.ready = False

    # -- start and stop -----------------------------------------------------------------------------
    async def startup(self) -> None:
        """Reconcile with what the store says: sandboxes that were running when the server died are
        reaped (no process of theirs survives) and kept stopped, or marked lost if their workspace
        is gone."""
        for record in await self.store.list_sandboxes(statuses={SandboxStatus.CREATED, SandboxStatus.RUNNING}):
            try:
                await self.runtime.reap(record.id, record.backend)
            except AirlockError as exc:
                logger.warning("could not reap sandbox %s: %s", record.id, exc)
            workspace = self.settings.sandboxes_dir / record.id / "workspace"
            if await asyncio.to_thread(workspace.is_dir):
                record.status = SandboxStatus.STOPPED
                record.last_error = "the server stopped while the sandbox ran; start it again"
            else:
                record.status = SandboxStatus.LOST
                record.last_error = "the server stopped while the sandbox ran, and its workspace is gone"
            await self.store.put_sandbox(record)
            await self.audit(None, "sandbox.reconcile", record.id, status=record.status.value)
        known = {record.id for record in await self.store.list_sandboxes(statuses=LIVE | {SandboxStatus.LOST})}
        for sandbox_id in await self.runtime.reap_orphans(keep=known):
            logger.info("removed sandbox %s, left behind by a process that died", sandbox_id)
        await self._count_live()
        await self.history.prune()
        await self._start_pools()
        self.ready = True

    async def _start_pools(self) -> None:
        """The pools the settings declare, and unless one fits it, ``default``: the server's default
        backend running Python, ``server.prewarm`` sandboxes kept idle."""
        pools = self.runtime.pools
        pools.on_boot = self.metrics.observe_boot
        self.metrics.watch_pools(pools)
        await pools.start()
        prewarm = self.settings.server.prewarm
        backend = self._backend(None)
        if prewarm and pools.fitting(backend, "python") is None:
            config = PoolConfig(
                template=Template(name="default", backend=backend), target_idle=prewarm, max_size=max(16, 4 * prewarm)
            )
            try:
                await pools.declare(config)
            except BackendUnavailable as exc:  # sandboxes are refused with the reason when asked for
                logger.warning("no warm pool: %s", exc)

    async def shutdown(self, grace_s: float) -> None:
        """Let in-flight execs finish (up to ``grace_s``), then stop every sandbox, keeping workspaces."""
        self.ready = False
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=grace_s)
        for sandbox in self.runtime.sandboxes():
            if sandbox.state is SandboxState.RUNNING:
                try:
                    await sandbox.stop()
                except AirlockError as exc:
                    logger.warning("could not stop sandbox %s: %s", sandbox.id, exc)
            record = await self.store.get_sandbox(sandbox.id)
            if record is not None and record.status in LIVE:
                record.status = SandboxStatus.STOPPED
                await self.store.put_sandbox(record)
            self.runtime.detach(sandbox.id)  # the runtime's close must not delete the workspace

    async def principal(self, key_hash: str) -> Principal | None:
        """Who holds the key with this hash (known keys are remembered: one store read per key)."""
        if key_hash not in self._principals:
            record = await self.store.key_by_hash(key_hash)
            if record is None:
                return None
            self._principals[key_hash] = Principal(
                tenant=record.tenant, key_id=record.id, admin=record.admin, role=record.role
            )
        return self._principals[key_hash]

    # -- sandboxes ----------------------------------------------------------------------------------
    def _pool(self, name: str, backend: str | None = None) -> Pool:
        """A pool a client named; its backend must be one the server offers (and the one asked for)."""
        pool = self.runtime.pools.get(name)
        if backend is not None and backend != pool.backend:
            raise ApiError(422, "invalid_request", f"pool {name!r} runs backend {pool.backend!r}, not {backend!r}")
        self._backend(pool.backend)
        return pool

    def _backend(self, requested: str | None) -> str:
        """The backend to use; only those the server offers (``server.allowed_backends``)."""
        allowed = self.settings.server.allowed_backends
        name = requested or (self.settings.backend if self.settings.backend in allowed else allowed[0])
        if name not in allowed:
            raise ApiError(422, "backend_not_allowed", f"backend {name!r} is not offered here; use one of {allowed}")
        return name

    async def create(self, who: Principal, body: CreateSandbox) -> SandboxRecord:
        backend = self._backend(body.backend)
        async with self.creating(who):
            return await self._create(who, body, backend)

    @asynccontextmanager
    async def creating(self, who: Principal) -> AsyncIterator[None]:
        """Count a sandbox on its way (before any await, so concurrent creates see each other)."""
        self._creating[who.tenant] += 1
        try:
            yield
        finally:
            self._creating[who.tenant] -= 1

    async def _create(self, who: Principal, body: CreateSandbox, backend: str) -> SandboxRecord:
        await self.check_room(who)
        patch = body.limits.model_dump(exclude_none=True)
        pool = self._pool(body.pool, body.backend) if body.pool else None
        language = get_language(body.language or (pool.config.template.language if pool else "python")).name
        if pool is not None and (patch or language != pool.config.template.language):
            raise ApiError(
                422, "invalid_request", f"pool {pool.name!r} decides its sandboxes' limits and language; give neither"
            )
        if pool is None and not patch:
            pool = self.runtime.pools.fitting(backend, language)
        if pool is not None:
            sandbox = await _pooled(pool.take(env=body.env))
            self.runtime.adopt(sandbox)
            limits = pool.config.template.limits or self.settings.limits
        else:
            limits = self.settings.limits.model_copy(update=patch)
            sandbox = await self.runtime.create_sandbox(language=language, backend=backend, limits=limits, env=body.env)
            self.metrics.observe_boot("none", sandbox.boot_ms)
        sandbox.policy = body.snapshot_policy
        return await self.register(who, sandbox, limits, body.env, pool=pool.name if pool is not None else None)

    async def register(
        self, who: Principal, sandbox: Sandbox, limits: SandboxLimits, env: dict[str, str], **detail: Any
    ) -> SandboxRecord:
        """Keep a new sandbox's record (and audit it): from now on it is the tenant's."""
        record = SandboxRecord(
            id=sandbox.id,
            tenant=who.tenant,
            backend=sandbox.backend,
            language=sandbox.language,
            status=SandboxStatus.RUNNING,
            limits=limits,
            env=env,
            policy=sandbox.policy,
        )
        await self.store.put_sandbox(record)
        await self.audit(who, "sandbox.create", record.id, backend=record.backend, language=record.language, **detail)
        await self._count_live()
        return record

    async def check_room(self, who: Principal) -> None:
        """Raise 429 when the tenant has as many live sandboxes as it may."""
        live = len(await self.store.list_sandboxes(who.tenant, LIVE)) + self._creating[who.tenant] - 1
        limit = self.settings.server.max_sandboxes_per_tenant
        if live >= limit:
            raise ApiError(
                429, "too_many_sandboxes", f"tenant has {live} live sandboxes; the limit is {limit}", retry_after=10
            )

    # -- pools --------------------------------------------------------------------------------------
    async def declare_pool(self, who: Principal, config: PoolConfig) -> Pool:
        self._backend(config.template.backend or self.settings.backend)
        if config.name in {pool.name for pool in self.runtime.pools}:
            raise ApiError(409, "pool_exists", f"there is already a pool named {config.name!r}")
        pool = await self.runtime.pools.declare(config)
        await self.audit(who, "pool.create", config.name, config=config.model_dump(mode="json"))
        return pool

    async def remove_pool(self, who: Principal, name: str) -> None:
        await self.runtime.pools.remove(name)
        await self.audit(who, "pool.delete", name)

    async def fork(self, who: Principal, sandbox_id: str, snapshot_id: str) -> SandboxRecord:
        """A new sandbox of the tenant's from a snapshot of one of its sandboxes; same limits, env
        and snapshot policy, nothing shared after."""
        record, source = await self.handle(who, sandbox_id)
        self._backend(record.backend)
        async with self.creating(who):
            await self.check_room(who)
            sandbox = await self.runtime.fork(source, snapshot_id, limits=record.limits, env=record.env)
            sandbox.policy = record.policy
            return await self.register(
                who, sandbox, record.limits, record.env, forked_from=sandbox_id, snapshot=snapshot_id
            )

    async def record(self, who: Principal, sandbox_id: str) -> SandboxRecord:
        record = await self.store.get_sandbox(sandbox_id)
        if record is None or record.tenant != who.tenant or record.status is SandboxStatus.DESTROYED:
            raise ApiError(404, "not_found", f"no sandbox {sandbox_id!r}")
        return record

    async def list(self, who: Principal) -> list[SandboxRecord]:
        statuses = LIVE | {SandboxStatus.LOST}
        return await self.store.list_sandboxes(who.tenant, statuses)

    def lock(self, sandbox_id: str) -> asyncio.Lock:
        return self._locks.setdefault(sandbox_id, asyncio.Lock())

    async def handle(self, who: Principal, sandbox_id: str) -> tuple[SandboxRecord, Sandbox]:
        """The record and a live handle; a sandbox from before a restart is reopened (stopped)."""
        record = await self.record(who, sandbox_id)
        if record.status is SandboxStatus.LOST:
            raise ApiError(409, "sandbox_lost", f"sandbox {sandbox_id} was lost: {record.last_error}")
        sandbox = self.runtime.get(sandbox_id)
        if sandbox is None:
            async with self.lock(sandbox_id):
                sandbox = self.runtime.get(sandbox_id) or await self._reopen(record)
        return record, sandbox

    @asynccontextmanager
    async def operation(self, who: Principal, sandbox_id: str) -> AsyncIterator[Sandbox]:
        """A live handle for one request; if a stop or delete cuts it short, that is what it says."""
        _, sandbox = await self.handle(who, sandbox_id)
        try:
            yield sandbox
        except SandboxError as exc:
            if sandbox.state is SandboxState.RUNNING:
                raise
            if sandbox.state is SandboxState.DESTROYED:
                raise ApiError(404, "not_found", f"no sandbox {sandbox_id!r}") from exc
            raise SandboxStateError(f"sandbox {sandbox_id} was {sandbox.state.value} while this ran") from exc

    async def _reopen(self, record: SandboxRecord) -> Sandbox:
        try:
            sandbox = await self.runtime.reopen_sandbox(
                record.id, language=record.language, backend=record.backend, limits=record.limits, env=record.env
            )
        except SandboxStartError as exc:
            record.status, record.last_error = SandboxStatus.LOST, str(exc)
            await self.store.put_sandbox(record)
            raise ApiError(409, "sandbox_lost", f"sandbox {record.id} was lost: {exc}") from exc
        sandbox.policy, sandbox.quarantined = record.policy, record.quarantined
        return sandbox

    async def sync(self, record: SandboxRecord, sandbox: Sandbox) -> SandboxRecord:
        """Write the handle's state to the record (an agent that died leaves a stopped sandbox)."""
        now = (_STATUS[sandbox.state], sandbox.last_error, sandbox.quarantined, sandbox.policy)
        if now != (record.status, record.last_error, record.quarantined, record.policy):
            record.status, record.last_error, record.quarantined, record.policy = now
            await self.store.put_sandbox(record)
        return record

    async def stop(self, who: Principal, sandbox_id: str) -> SandboxRecord:
        record, sandbox = await self.handle(who, sandbox_id)
        async with self.lock(sandbox_id):
            await sandbox.stop()
        await self.audit(who, "sandbox.stop", sandbox_id)
        return await self.sync(record, sandbox)

    async def start(self, who: Principal, sandbox_id: str) -> SandboxRecord:
        record, sandbox = await self.handle(who, sandbox_id)
        async with self.lock(sandbox_id):
            await sandbox.start()
        await self.audit(who, "sandbox.start", sandbox_id)
        return await self.sync(record, sandbox)

    async def delete(self, who: Principal, sandbox_id: str) -> None:
        record = await self.record(who, sandbox_id)
        sandbox = self.runtime.get(sandbox_id)
        if sandbox is not None:
            await sandbox.destroy()
            self.runtime.detach(sandbox_id)
        else:  # not reopened since a restart: remove what is on disk
            await self.runtime.reap(record.id, record.backend)
            await asyncio.to_thread(shutil.rmtree, self.settings.sandboxes_dir / record.id, True)
            await asyncio.to_thread(self.runtime.snapshots.drop_sandbox, record.id)
        record.status = SandboxStatus.DESTROYED
        await self.store.put_sandbox(record)
        self._locks.pop(sandbox_id, None)
        await self.audit(who, "sandbox.delete", sandbox_id)
        await self._count_live()

    # -- executions ---------------------------------------------------------------------------------
    @asynccontextmanager
    async def _exec_slot(self, who: Principal) -> AsyncIterator[None]:
        limit = self.settings.server.max_concurrent_execs_per_tenant
        if self._execs[who.tenant] >= limit:
            raise ApiError(429, "too_many_execs", f"tenant runs {limit} executions already", retry_after=1)
        self._execs[who.tenant] += 1
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            yield
        finally:
            self._execs[who.tenant] -= 1
            if task is not None:
                self._inflight.discard(task)

    async def exec(
        self, who: Principal, sandbox_id: str, body: ExecBody, on_output: OutputCallback | None = None
    ) -> tuple[str, ExecutionResult]:
        record, sandbox = await self.handle(who, sandbox_id)
        if sandbox.quarantined is not None:
            raise SandboxStateError(f"sandbox {sandbox_id} is quarantined ({sandbox.quarantined}); restore a snapshot")
        if sandbox.state is not SandboxState.RUNNING:
            raise SandboxStateError(f"sandbox {sandbox_id} is {sandbox.state.value}; start it first")
        async with self._exec_slot(who):
            started = utcnow()
            options: dict[str, Any] = {
                "env": body.env,
                "cwd": body.cwd,
                "stdin": _stdin(body),
                "on_output": on_output,
            }
            if body.timeout_ms is not None:
                options["timeout_ms"] = body.timeout_ms
            if body.max_output_bytes is not None:
                options["max_output_bytes"] = body.max_output_bytes
            language = COMMAND if body.language == COMMAND or body.argv is not None else body.language
            sandbox.role = who.role  # the policy judges it for the key's role
            try:
                if language == COMMAND:
                    result = await sandbox.run_command(body.argv or [], agent_id=body.agent_id, **options)
                else:
                    result = await sandbox.exec(
                        body.code, body.language, context=body.context, agent_id=body.agent_id, **options
                    )
            except asyncio.CancelledError:  # the client went away: the agent kills it; history says so
                cancelled = ExecutionResult(exit_code=-1, cancelled=True, language=language, sandbox_id=sandbox_id)
                await self._record(who, sandbox_id, body, language or sandbox.language, cancelled, started)
                raise
            language = result.language or sandbox.language
        await self.sync(record, sandbox)
        execution_id = await self._record(who, sandbox_id, body, language, result, started)
        return execution_id, result

    async def run(
        self, who: Principal, body: RunBody, on_output: OutputCallback | None = None
    ) -> tuple[str, ExecutionResult]:
        """One-shot: a sandbox of a pool (reset after, so nothing of this run is left for the next),
        or of its own with ``use_pools`` off."""
        pool = self._pool(body.pool, body.backend) if body.pool is not None else None
        default = pool.config.template.language if pool is not None else "python"
        language = COMMAND if body.argv is not None else body.language or default
        request = ExecutionRequest(
            code=body.code,
            argv=body.argv,
            language=language,
            stdin=_stdin(body),
            backend=self._backend(body.backend),
            pool=body.pool,
            repl_context=None,
            context={
                "env_vars": body.env,
                "working_dir": body.cwd,
                **({"timeout_ms": body.timeout_ms} if body.timeout_ms is not None else {}),
                **({"max_output_bytes": body.max_output_bytes} if body.max_output_bytes is not None else {}),
            },
        )
        async with self._exec_slot(who):
            started = utcnow()
            result = await _pooled(
                self.runtime.execute(
                    request, on_output=on_output, keep_output=False, role=who.role, agent_id=body.agent_id
                )
            )
        execution_id = await self._record(who, None, body, language, result, started)
        return execution_id, result

    async def run_command(
        self,
        who: Principal,
        definition: CommandDefinition,
        params: dict[str, Any],
        agent_id: str | None,
        *,
        intent: str | None = None,
        attempt: int = 0,
    ) -> tuple[str, ExecutionResult]:
        """A markdown command, run for the key's role like a one-shot run (``airlock.commands``); the
        history keeps its script (the parameter values are in its environment, not its code)."""
        options: dict[str, Any] = {"role": who.role, "agent_id": agent_id, "intent": intent, "attempt": attempt}
        async with self._exec_slot(who):
            started = utcnow()
            result = await _pooled(run_command(self.runtime, definition, params, keep_output=False, **options))
        body = RunBody(code=definition.script.code, language=definition.script.language, agent_id=agent_id)
        execution_id = await self._record(who, None, body, definition.script.language, result, started)
        return execution_id, result

    async def _record(
        self,
        who: Principal,
        sandbox_id: str | None,
        body: ExecBody,
        language: str,
        result: ExecutionResult,
        started: datetime,
    ) -> str:
        record = await self.history.record(
            result,
            tenant=who.tenant,
            sandbox_id=sandbox_id,
            agent_id=body.agent_id,
            language=language,
            code=body.code if body.argv is None else " ".join(body.argv),
            started_at=started,
        )
        self.metrics.observe_exec(language, record.status, result.execution_time_ms / 1000)
        return record.id

    async def audit(self, who: Principal | None, action: str, target: str | None, **detail: Any) -> None:
        await self.store.add_audit(
            AuditEvent(
                tenant=who.tenant if who else None,
                actor=who.key_id if who else None,
                action=action,
                target=target,
                detail=detail,
            )
        )

    async def _count_live(self) -> None:
        self.metrics.live_sandboxes.set(len(await self.store.list_sandboxes(statuses=LIVE)))


async def _pooled(step: Awaitable[_T]) -> _T:
    """A step that takes from a pool; a drained pool is a 503 the client may retry."""
    try:
        return await step
    except PoolExhausted as exc:
        raise ApiError(503, "pool_exhausted", str(exc), retry_after=1) from exc


def _stdin(body: ExecBody) -> bytes | None:
    if body.stdin_b64 is not None:
        if body.stdin is not None:
            raise ApiError(422, "invalid_request", "give stdin or stdin_b64, not both")
        try:
            return base64.b64decode(body.stdin_b64, validate=True)
        except ValueError:
            raise ApiError(422, "invalid_request", "stdin_b64 is not base64") from None
    return None if body.stdin is None else body.stdin.encode()
