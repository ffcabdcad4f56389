"""Warm pools: started sandboxes of one template, handed out in well under a millisecond.

    pool = Pool(runtime, PoolConfig(template=Template(name="py"), target_idle=4))
    await pool.start()                            # prewarms in the background
    async with pool.lease(env={"USER_ID": "42"}) as sandbox:
        await sandbox.exec("print(1)")
    await pool.close()

A lease's env is applied when it is handed out, so it never forces a cold start. On release the
sandbox is reset (every process killed, REPL contexts gone, workspace and /tmp emptied, env cleared)
and goes back idle, or is destroyed when it is unhealthy, over its uses or over its age; a refill
starts the moment a sandbox leaves the idle set. A drained pool waits up to a deadline, then creates
a sandbox cold or fails with ``PoolExhausted``, as configured: never a silent hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from airlock.errors import AirlockError, SandboxError, SandboxStateError
from airlock.models import SandboxLimits
from airlock.runtime import Runtime
from airlock.sandbox import Sandbox

__all__ = ["Pool", "PoolConfig", "PoolExhausted", "PoolStats", "PooledSandbox", "Strategy", "Template"]

logger = logging.getLogger(__name__)


class PoolExhausted(AirlockError, TimeoutError):
    """No sandbox could be had within the pool's wait deadline (and cold creation was not allowed)."""


class Strategy(StrEnum):
    FIRST_AVAILABLE = "first_available"
    LEAST_RECENTLY_USED = "least_recently_used"
    ROUND_ROBIN = "round_robin"
    WEIGHTED_RANDOM = "weighted_random"
    BEST_PERFORMANCE = "best_performance"


class Template(BaseModel):
    """What every sandbox of a pool is: backend, language, limits, and files put in place up front."""

    model_config = ConfigDict(extra="forbid")
    name: str
    backend: str | None = None
    language: str = "python"
    limits: SandboxLimits | None = None
    files: dict[str, str] = Field(default_factory=dict, description="workspace path -> content")
    warmup: str | None = Field("pass", description="run once at creation, e.g. to start the REPL context")


class PoolConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: Template
    target_idle: int = Field(2, ge=0, description="idle sandboxes kept ready")
    max_size: int = Field(16, ge=1, description="idle and leased together")
    max_uses: int = Field(100, ge=1)
    max_age_s: float = Field(3600.0, gt=0)
    strategy: Strategy = Strategy.FIRST_AVAILABLE
    when_empty: Literal["wait_then_create", "wait_then_fail"] = "wait_then_create"
    wait_s: float = Field(2.0, ge=0, description="how long an acquire waits for a released sandbox")
    health_interval_s: float = Field(10.0, gt=0)


@dataclass
class PooledSandbox:
    """A sandbox as the pool sees it: how often and how recently it was used, how fast it answers."""

    sandbox: Sandbox
    created_at: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    uses: int = 0
    latency_ms: float = 0.0  # moving average of health-check round trips
    boot_ms: dict[str, float] = field(default_factory=dict)
    seq: int = 0  # creation order, for round robin

    @property
    def age_s(self) -> float:
        return time.monotonic() - self.created_at


@dataclass(frozen=True)
class PoolStats:
    template: str
    idle: int
    leased: int
    creating: int
    acquired: int
    cold_starts: int
    recycled: int
    exhausted: int
    boot_ms_p50: dict[str, float]


class Pool:
    def __init__(self, runtime: Runtime, config: PoolConfig) -> None:
        self.runtime = runtime
        self.config = config
        self._idle: list[PooledSandbox] = []
        self._leased: dict[str, PooledSandbox] = {}
        self._creating = 0
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._maintenance: asyncio.Task[None] | None = None
        self._next = 0
        self._seq = 0
        self._resetting = 0  # released, being reset: neither idle nor leased, but still ours
        self._destroying: set[asyncio.Task[None]] = set()
        self._counts = {"acquired": 0, "cold_starts": 0, "recycled": 0, "exhausted": 0}
        self._boots: list[dict[str, float]] = []
        self.closed = False

    # -- life ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Begin prewarming (in the background) and the maintenance loop."""
        self._refill()
        self._maintenance = asyncio.create_task(self._maintain(), name=f"pool-{self.config.template.name}")

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the pool holds its target of idle sandboxes (for tests and benchmarks)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self._idle) >= self.config.target_idle)

    async def close(self) -> None:
        """Destroy every sandbox of the pool, leased ones too. Closing twice is a no-op."""
        if self.closed:
            return
        self.closed = True
        if self._maintenance is not None:
            self._maintenance.cancel()
            await asyncio.gather(self._maintenance, return_exceptions=True)
        # Creations in flight are not cancelled: a cancel inside a subprocess spawn or a worker thread
        # can hang (CPython gh-103847) or leak what the thread goes on to make. They see ``closed``
        # when they finish and destroy what they made; retiring sandboxes finish dying.
        await asyncio.gather(*self._tasks, *self._destroying, return_exceptions=True)
        members = [*self._idle, *self._leased.values()]
        self._idle, self._leased = [], {}
        await asyncio.gather(*(self._destroy(m) for m in members), return_exceptions=True)

    # -- acquire and release ------------------------------------------------------------------------
    async def acquire(self, *, env: dict[str, str] | None = None) -> Sandbox:
        """A started sandbox of the template, with ``env`` applied to every exec of this lease."""
        if self.closed:
            raise SandboxStateError("this pool is closed")
        member = self._take() or await self._wait_or_create()
        member.uses += 1
        member.last_used = time.monotonic()
        member.sandbox.env = dict(env or {})
        self._leased[member.sandbox.id] = member
        self._counts["acquired"] += 1
        self._refill()
        return member.sandbox

    async def release(self, sandbox: Sandbox) -> None:
        """Give the sandbox back: reset for the next user, or destroyed if it should not serve again."""
        member = self._leased.pop(sandbox.id, None)
        if member is None:
            raise SandboxStateError(f"sandbox {sandbox.id} is not leased from this pool")
        self._resetting += 1
        try:
            reusable = not self.closed and await self._reusable(member)
        finally:
            self._resetting -= 1
        if not reusable:
            self._counts["recycled"] += 1
            self._retire(member)
            self._refill()
            return
        async with self._changed:
            if self._closed_meanwhile():  # closed while we reset it: nobody else will destroy it
                await self._destroy(member)
                return
            self._idle.append(member)
            self._changed.notify_all()

    def _closed_meanwhile(self) -> bool:
        """``closed``, read again after an await (a plain read would look unchanged to mypy)."""
        return self.closed

    @contextlib.asynccontextmanager
    async def lease(self, *, env: dict[str, str] | None = None) -> AsyncIterator[Sandbox]:
        sandbox = await self.acquire(env=env)
        try:
            yield sandbox
        finally:
            await self.release(sandbox)

    def _take(self) -> PooledSandbox | None:
        """An idle member by the strategy; one whose agent is known dead is retired, not handed out."""
        while self._idle:
            member = self._idle.pop(self._pick(self._idle))
            if member.sandbox.alive:
                return member
            self._counts["recycled"] += 1
            self._retire(member)
            self._refill()
        return None

    def _pick(self, idle: list[PooledSandbox]) -> int:
        strategy = self.config.strategy
        if strategy == Strategy.LEAST_RECENTLY_USED:
            return min(range(len(idle)), key=lambda i: idle[i].last_used)
        if strategy == Strategy.ROUND_ROBIN:  # the next in creation order after the last one given out
            index = min(range(len(idle)), key=lambda i: (idle[i].seq - self._next) % (self._seq + 1))
            self._next = idle[index].seq + 1
            return index
        if strategy == Strategy.WEIGHTED_RANDOM:  # fresher sandboxes (fewer uses) weigh more
            weights = [1.0 / (1 + m.uses) for m in idle]
            return random.choices(range(len(idle)), weights)[0]  # noqa: S311 - not for security
        if strategy == Strategy.BEST_PERFORMANCE:
            return min(range(len(idle)), key=lambda i: idle[i].latency_ms)
        return 0

    async def _wait_or_create(self) -> PooledSandbox:
        if self.config.wait_s > 0:
            try:
                async with asyncio.timeout(self.config.wait_s), self._changed:
                    await self._changed.wait_for(lambda: bool(self._idle) or self.closed)
                    if self.closed:
                        raise SandboxStateError("this pool is closed")
                    member = self._take()
                    assert member is not None
                    return member
            except TimeoutError:
                pass
        if self.config.when_empty == "wait_then_fail" or self._size() >= self.config.max_size:
            self._counts["exhausted"] += 1
            raise PoolExhausted(
                f"pool {self.config.template.name!r} had no sandbox within {self.config.wait_s:g}s "
                f"({len(self._leased)} leased, max_size {self.config.max_size})"
            )
        self._counts["cold_starts"] += 1
        member = await self._create()
        if self._closed_meanwhile():
            await self._destroy(member)
            raise SandboxStateError("this pool is closed")
        return member

    async def _reusable(self, member: PooledSandbox) -> bool:
        if member.uses >= self.config.max_uses or member.age_s >= self.config.max_age_s:
            return False
        try:
            return await member.sandbox.reset()
        except (SandboxError, AirlockError) as exc:
            logger.info("sandbox %s cannot be reused: %s", member.sandbox.id, exc)
            return False

    # -- creating, refilling, maintaining -----------------------------------------------------------
    def _size(self) -> int:
        return len(self._idle) + len(self._leased) + self._creating + self._resetting

    def _refill(self) -> None:
        """Start as many creations as it takes to reach the idle target, within max_size."""
        if self.closed:
            return
        wanted = self.config.target_idle - len(self._idle) - self._creating
        room = self.config.max_size - self._size()
        for _ in range(max(0, min(wanted, room))):
            self._creating += 1  # counted now, not when the task first runs: refills in a row see it
            self._spawn(self._add())

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _add(self) -> None:
        """A creation ``_refill`` counted already."""
        try:
            member = await self._create(counted=True)
        except AirlockError as exc:
            logger.warning("pool %s could not create a sandbox: %s", self.config.template.name, exc)
            return
        async with self._changed:
            if self.closed or self._size() >= self.config.max_size:
                await self._destroy(member)
                return
            self._idle.append(member)
            self._changed.notify_all()

    async def _create(self, *, counted: bool = False) -> PooledSandbox:
        template = self.config.template
        if not counted:
            self._creating += 1
        try:
            started = time.perf_counter()
            sandbox = await self.runtime.create_sandbox(
                language=template.language, backend=template.backend, limits=template.limits
            )
            ready = time.perf_counter()
            for path, content in template.files.items():
                await sandbox.write_file(path, content)
            if template.warmup:
                await sandbox.exec(template.warmup)
            done = time.perf_counter()
        finally:
            self._creating -= 1
        boot = {"ready_ms": (ready - started) * 1000, "first_exec_ms": (done - ready) * 1000}
        self._boots = [*self._boots[-199:], boot]
        self.runtime.detach(sandbox.id)  # the pool owns it now
        self._seq += 1
        return PooledSandbox(sandbox, boot_ms=boot, seq=self._seq)

    def _retire(self, member: PooledSandbox) -> None:
        """Destroy in the background; ``close`` waits for these rather than cancelling them."""
        task = asyncio.create_task(self._destroy(member))
        self._destroying.add(task)
        task.add_done_callback(self._destroying.discard)

    async def _destroy(self, member: PooledSandbox) -> None:
        try:
            await member.sandbox.destroy()
        except AirlockError as exc:
            logger.warning("could not destroy pooled sandbox %s: %s", member.sandbox.id, exc)

    async def _maintain(self) -> None:
        """Health-check idle sandboxes, recycle the sick and the old, trim the surplus, top up."""
        while not self.closed:
            await asyncio.sleep(self.config.health_interval_s)
            await self.check()

    async def check(self) -> None:
        """One maintenance pass (the loop runs it every ``health_interval_s``); never blocks acquire."""
        for member in list(self._idle):
            started = time.perf_counter()
            try:
                await member.sandbox.ping()
                healthy = member.age_s < self.config.max_age_s
            except AirlockError:
                healthy = False
            member.latency_ms = 0.7 * member.latency_ms + 0.3 * (time.perf_counter() - started) * 1000
            surplus = len(self._idle) > self.config.target_idle
            if (not healthy or surplus) and member in self._idle:
                self._idle.remove(member)
                self._counts["recycled"] += 1
                self._retire(member)
        self._refill()

    def stats(self) -> PoolStats:
        def p50(key: str) -> float:
            values = sorted(b[key] for b in self._boots if key in b)
            return values[len(values) // 2] if values else 0.0

        return PoolStats(
            template=self.config.template.name,
            idle=len(self._idle),
            leased=len(self._leased),
            creating=self._creating,
            boot_ms_p50={key: p50(key) for key in ("ready_ms", "first_exec_ms")},
            **self._counts,
        )
