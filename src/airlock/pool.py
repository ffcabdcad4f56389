"""Warm pools: started sandboxes of one template, handed out in well under a millisecond.

    pool = Pool(runtime, PoolConfig(template=Template(name="py"), target_idle=4))
    await pool.start()                            # prewarms in the background
    async with pool.lease(env={"USER_ID": "42"}) as sandbox:
        await sandbox.exec("print(1)")
    await pool.close()

A lease's env is applied when it is handed out, so it never forces a cold start. Release returns at
once; in the background the sandbox is reset (every process killed, REPL contexts gone, workspace and
/tmp emptied, env cleared), its REPL started again, and it goes back idle, or it is destroyed when it
is unhealthy, over its uses or over its age. A refill starts the moment a sandbox leaves the idle set.
A drained pool waits up to a deadline, then creates a sandbox cold or fails with ``PoolExhausted``, as
configured: never a silent hang.

``Pools`` holds a runtime's pools by name: those declared in the settings (``[[pools]]``, started by
``await runtime.pools.start()``, which ``airlock serve`` does) or through the API, and one made on
demand for each backend and language ``Runtime.execute`` is asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airlock.errors import AirlockError, ConfigError, PoolExhausted, PoolNotFound, SandboxStartError, SandboxStateError
from airlock.languages import get_language
from airlock.models import BOOT_PHASES, BootTimes, PoolConfig, PoolStats, Strategy, Template
from airlock.sandbox import Sandbox

if TYPE_CHECKING:
    from airlock.runtime import Runtime

__all__ = ["BootObserver", "Pool", "PooledSandbox", "Pools"]

logger = logging.getLogger(__name__)

#: Called with a pool's name and the phases (milliseconds) of each sandbox it boots.
BootObserver = Callable[[str, dict[str, float]], None]
_KEPT_BOOTS = 200


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


class Pool:
    def __init__(self, runtime: Runtime, config: PoolConfig, *, on_boot: BootObserver | None = None) -> None:
        self.runtime = runtime
        self.config = config
        self.on_boot = on_boot
        self._idle: list[PooledSandbox] = []
        self._leased: dict[str, PooledSandbox] = {}
        self._creating = 0  # refills: they land in the idle set
        self._cold = 0  # creations for an acquire that found nothing: they go to that acquirer
        self._resetting = 0  # released, being reset: neither idle nor leased, but still ours
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._maintenance: asyncio.Task[None] | None = None
        self._next = 0
        self._seq = 0
        self._counts = {"acquired": 0, "cold_starts": 0, "recycled": 0, "exhausted": 0, "failed": 0}
        self._last_error: str | None = None
        self._boots: list[dict[str, float]] = []
        self.closed = False

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def backend(self) -> str:
        return self.config.template.backend or self.runtime.settings.backend

    # -- life ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Begin prewarming (in the background) and the maintenance loop."""
        self._refill()
        self._maintenance = asyncio.create_task(self._maintain(), name=f"pool-{self.name}")

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the pool holds its target of idle sandboxes (for tests and benchmarks)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self._idle) >= self.config.target_idle)

    async def settle(self) -> None:
        """Wait until every release, refill and retirement under way has finished."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Destroy every sandbox of the pool, leased ones too. Closing twice is a no-op."""
        if self.closed:
            return
        self.closed = True
        if self._maintenance is not None:
            self._maintenance.cancel()
            await asyncio.gather(self._maintenance, return_exceptions=True)
        # Creations and resets in flight are not cancelled: a cancel inside a subprocess spawn or a
        # worker thread can hang (CPython gh-103847) or leak what the thread goes on to make. They see
        # ``closed`` when they finish and destroy what they hold; retiring sandboxes finish dying.
        await self.settle()
        members = [*self._idle, *self._leased.values()]
        self._idle, self._leased = [], {}
        await asyncio.gather(*(self._destroy(m) for m in members), return_exceptions=True)

    # -- acquire and release ------------------------------------------------------------------------
    async def acquire(self, *, env: dict[str, str] | None = None) -> Sandbox:
        """A started sandbox of the template, with ``env`` applied to every exec of this lease."""
        if self.closed:
            raise SandboxStateError(f"pool {self.name!r} is closed")
        member = self._take() or await self._wait_or_create()
        member.uses += 1
        member.last_used = time.monotonic()
        member.sandbox.env = dict(env or {})
        self.runtime.supervise(member.sandbox)  # the lease's execs are judged and recorded; the pool's own not
        self._leased[member.sandbox.id] = member
        self._counts["acquired"] += 1
        self._refill()
        return member.sandbox

    async def release(self, sandbox: Sandbox) -> None:
        """Give the sandbox back. Returns at once; the reset (or the destroy, for a sandbox that should
        not serve again) goes on in the background, and ``close`` waits for it."""
        member = self._leased.pop(sandbox.id, None)
        if member is None:
            raise SandboxStateError(f"sandbox {sandbox.id} is not leased from pool {self.name!r}")
        sandbox.recorder = sandbox.guard = sandbox.role = sandbox.admitted = None
        if sandbox.egress is not None:  # the next lease starts with no allowlist and no open tunnel
            sandbox.egress.reset()
        self._resetting += 1
        self._spawn(self._recycle(member))

    async def take(self, *, env: dict[str, str] | None = None) -> Sandbox:
        """A sandbox handed over for good: the pool forgets it (and refills); the caller destroys it."""
        sandbox = await self.acquire(env=env)
        del self._leased[sandbox.id]
        self._refill()
        return sandbox

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
            self._spawn(self._destroy(member))
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
        return 0  # first available: the idle list is in the order sandboxes became idle

    async def _wait_or_create(self) -> PooledSandbox:
        """Wait for a sandbox to come back (a reset, a refill or a release) up to ``wait_s``; then, or
        as soon as none is on its way when cold creation is allowed, create one or fail."""
        may_create = self.config.when_empty == "wait_then_create"

        def worth_waiting() -> bool:
            return not may_create or self._incoming() > 0

        if self.config.wait_s > 0 and worth_waiting():
            try:
                async with asyncio.timeout(self.config.wait_s), self._changed:
                    while not self.closed and worth_waiting():
                        await self._changed.wait_for(lambda: bool(self._idle) or self.closed or not worth_waiting())
                        if (member := self._take()) is not None:
                            return member
                    if self.closed:
                        raise SandboxStateError(f"pool {self.name!r} is closed")
            except TimeoutError:
                pass
        if self.config.when_empty == "wait_then_fail" or self._size() >= self.config.max_size:
            self._counts["exhausted"] += 1
            raise PoolExhausted(
                f"pool {self.name!r} had no sandbox within {self.config.wait_s:g}s "
                f"({len(self._leased)} leased, max_size {self.config.max_size})"
            )
        self._counts["cold_starts"] += 1
        self._cold += 1
        try:
            member = await self._create()
        finally:
            self._cold -= 1
        if self._closed_meanwhile():
            await self._destroy(member)
            raise SandboxStateError(f"pool {self.name!r} was closed while a sandbox was created for it")
        return member

    def _incoming(self) -> int:
        """Sandboxes on their way to the idle set: being reset, or created by a refill."""
        return self._resetting + self._creating

    def _closed_meanwhile(self) -> bool:
        """``closed``, read again after an await (a plain read would look unchanged to mypy)."""
        return self.closed

    async def _recycle(self, member: PooledSandbox) -> None:
        """A released sandbox: reset and warmed back to idle, or destroyed (and replaced)."""
        try:
            reusable = not self.closed and await self._reusable(member)
        except BaseException:
            self._resetting -= 1
            await self._destroy(member)
            raise
        async with self._changed:
            self._resetting -= 1
            self._changed.notify_all()  # it arrives, or waiters learn it will not (or a refill will)
            if reusable and not self._closed_meanwhile():
                self._idle.append(member)
                return
            if not self.closed:
                self._counts["recycled"] += 1
                self._refill()
        await self._destroy(member)

    async def _reusable(self, member: PooledSandbox) -> bool:
        if member.uses >= self.config.max_uses or member.age_s >= self.config.max_age_s:
            return False
        try:
            if not await member.sandbox.reset():
                return False
            await member.sandbox.forget_snapshots()  # the next user gets none of them
            await self._provision(member.sandbox)
            return await self._warm(member.sandbox)
        except AirlockError as exc:
            logger.info("sandbox %s cannot be reused: %s", member.sandbox.id, exc)
            return False

    async def _warm(self, sandbox: Sandbox) -> bool:
        """Start the template language's REPL, so the next lease's first exec does not pay for it."""
        noop = get_language(self.config.template.language).noop
        if not self.config.template.warmup or noop is None:
            return True
        result = await sandbox.exec(noop, self.config.template.language)
        if not result.success:
            logger.warning("pool %s: warm-up failed in %s: %s", self.name, sandbox.id, result.stderr[-500:])
        return result.success

    # -- creating, refilling, maintaining -----------------------------------------------------------
    def _size(self) -> int:
        return len(self._idle) + len(self._leased) + self._creating + self._cold + self._resetting

    def _refill(self) -> None:
        """Start as many creations as it takes to reach the idle target (and the minimum size),
        within max_size."""
        if self.closed:
            return
        wanted = max(
            self.config.target_idle - len(self._idle) - self._creating - self._resetting,
            self.config.min_size - self._size(),
        )
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
            member = await self._create()
        except AirlockError as exc:
            closing = self.closed or self.runtime.closed
            logger.log(logging.DEBUG if closing else logging.WARNING, "pool %s: no sandbox: %s", self.name, exc)
            async with self._changed:
                self._creating -= 1
                self._changed.notify_all()  # waiters learn it will not arrive
            return
        except BaseException:
            self._creating -= 1
            raise
        async with self._changed:
            self._creating -= 1
            self._changed.notify_all()
            if not self.closed and self._size() < self.config.max_size:
                self._idle.append(member)
                return
        await self._destroy(member)

    async def _create(self) -> PooledSandbox:
        """A started sandbox of the template with its files, set-up and warm REPL; the caller counts it."""
        try:
            return await self._boot()
        except AirlockError as exc:
            self._counts["failed"] += 1
            self._last_error = str(exc)
            raise

    async def _boot(self) -> PooledSandbox:
        template = self.config.template
        sandbox = await self.runtime.create_sandbox(
            language=template.language, backend=template.backend, limits=template.limits, recorded=False
        )
        self.runtime.detach(sandbox.id)  # the pool owns it now
        try:
            boot = sandbox.boot_ms
            await self._provision(sandbox)
            started = time.perf_counter()
            if template.warmup and not await self._warm(sandbox):
                raise SandboxStartError(f"pool {self.name!r}: the {template.language} REPL did not start")
            if template.warmup:
                boot["first_exec"] = (time.perf_counter() - started) * 1000
        except BaseException:
            await sandbox.destroy()
            raise
        self._boots = [*self._boots[-(_KEPT_BOOTS - 1) :], boot]
        if self.on_boot is not None:
            self.on_boot(self.name, boot)
        self._seq += 1
        return PooledSandbox(sandbox, boot_ms=boot, seq=self._seq)

    async def _provision(self, sandbox: Sandbox) -> None:
        """Put the template's files in place and run its set-up: at creation, and again after every
        reset, which empties the workspace (snapshots will make this a restore)."""
        template = self.config.template
        for path, content in template.files.items():
            await sandbox.write_file(path, content)
        if template.setup:
            result = await sandbox.exec(template.setup, template.language, context=None)
            if not result.success:
                raise SandboxStartError(
                    f"pool {self.name!r}: the template's setup failed (exit {result.exit_code}): "
                    f"{(result.stderr or result.stdout)[-1000:]}"
                )

    async def _destroy(self, member: PooledSandbox) -> None:
        try:
            await member.sandbox.destroy()
        except AirlockError as exc:
            logger.warning("could not destroy pooled sandbox %s: %s", member.sandbox.id, exc)

    async def _maintain(self) -> None:
        """Health-check idle sandboxes, recycle the sick and the old, trim the surplus, top up."""
        while not self.closed:
            await asyncio.sleep(self.config.health_interval_s)
            try:
                await self.check()
            except Exception:  # one failed pass must not end maintenance for good
                logger.exception("pool %s: maintenance pass failed", self.name)

    async def check(self) -> None:
        """One maintenance pass (the loop runs it every ``health_interval_s``); never blocks acquire:
        each idle sandbox is pinged where it stands, and only taken out if it must go."""
        for member in list(self._idle):
            started = time.perf_counter()
            try:
                await member.sandbox.ping()
                healthy = member.age_s < self.config.max_age_s
            except AirlockError:
                healthy = False
            member.latency_ms = 0.7 * member.latency_ms + 0.3 * (time.perf_counter() - started) * 1000
            surplus = len(self._idle) > self.config.target_idle and self._size() > self.config.min_size
            if (not healthy or surplus) and member in self._idle:
                self._idle.remove(member)
                self._counts["recycled"] += 1
                self._spawn(self._destroy(member))
        self._refill()

    def stats(self) -> PoolStats:
        def times(phase: str) -> BootTimes:
            values = sorted(boot[phase] for boot in self._boots if phase in boot)
            if not values:
                return BootTimes(count=0, p50_ms=0.0, p99_ms=0.0)
            return BootTimes(count=len(values), p50_ms=values[len(values) // 2], p99_ms=values[int(len(values) * 0.99)])

        return PoolStats(
            name=self.name,
            backend=self.backend,
            language=self.config.template.language,
            strategy=self.config.strategy,
            target_idle=self.config.target_idle,
            max_size=self.config.max_size,
            idle=len(self._idle),
            leased=len(self._leased),
            creating=self._creating + self._cold,
            resetting=self._resetting,
            boot={phase: times(phase) for phase in BOOT_PHASES},
            last_error=self._last_error,
            **self._counts,
        )


class Pools:
    """A runtime's pools, by name."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.on_boot: BootObserver | None = None
        self._pools: dict[str, Pool] = {}
        self._started = False

    def __iter__(self) -> Iterator[Pool]:
        return iter(list(self._pools.values()))

    async def start(self) -> None:
        """Start the pools the settings declare (``[[pools]]``). Starting twice is a no-op."""
        if self._started:
            return
        self._started = True
        for config in self.runtime.settings.pools:
            await self.declare(config)

    async def declare(self, config: PoolConfig) -> Pool:
        """Add a pool and start prewarming it; its backend must run on this host."""
        if config.name in self._pools:
            raise ConfigError(f"there is already a pool named {config.name!r}")
        self.runtime.backend(config.template.backend)  # BackendUnavailable now, not in every refill
        pool = Pool(self.runtime, config, on_boot=self._booted)
        self._pools[config.name] = pool
        await pool.start()
        return pool

    async def remove(self, name: str) -> None:
        """Close a pool: its idle sandboxes are destroyed, and so are leased ones."""
        pool = self.get(name)
        del self._pools[name]
        await pool.close()

    def get(self, name: str) -> Pool:
        try:
            return self._pools[name]
        except KeyError:
            known = ", ".join(sorted(self._pools)) or "none"
            raise PoolNotFound(f"no pool named {name!r} (pools: {known})") from None

    def fitting(self, backend: str | None, language: str) -> Pool | None:
        """A declared pool whose sandboxes are exactly what a plain request gets: the backend, the
        language, the configured limits, no files and no set-up."""
        settings = self.runtime.settings
        backend = backend or settings.backend
        language = get_language(language).name
        for pool in self._pools.values():
            template = pool.config.template
            plain = not template.files and template.setup is None
            limits_fit = template.limits is None or template.limits == settings.limits
            if pool.backend == backend and template.language == language and plain and limits_fit:
                return pool
        return None

    async def for_execution(self, backend: str | None, language: str) -> Pool:
        """The fitting pool, or one made on demand: it keeps nothing idle ahead of use (a one-shot CLI
        would pay for that), takes back what is released, waits for a sandbox being reset, and starts
        cold when none is idle or on its way."""
        pool = self.fitting(backend, language)
        if pool is None:
            backend = backend or self.runtime.settings.backend
            name = f"auto-{backend}-{get_language(language).name}"
            template = Template(name=name, backend=backend, language=language, warmup=False)
            pool = await self.declare(PoolConfig(template=template, target_idle=0, max_size=1024))
        return pool

    def stats(self) -> list[PoolStats]:
        return [pool.stats() for pool in self._pools.values()]

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        await asyncio.gather(*(pool.close() for pool in pools), return_exceptions=True)

    def _booted(self, name: str, phases: dict[str, float]) -> None:
        if self.on_boot is not None:
            self.on_boot(name, phases)
