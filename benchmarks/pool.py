"""Warm pools: acquire latency, exec throughput, a burst on a small pool, and memory per idle sandbox.

    .venv/bin/python benchmarks/pool.py [--rounds 50] [--backend namespace]

Prints, all measured in this run,
  acquire     p50/p99 of ``Pool.acquire`` from a warm pool (4 idle, max_size 4; each lease released,
              and its reset finished, before the next acquire; only the acquire timed; ``rounds * 10``
              acquires) against a cold ``Runtime.create_sandbox`` (``rounds`` creates). Target: p50 <= 1 ms.
  throughput  ``print(1)`` execs per second at concurrency 1, 8 and 64, each worker repeating acquire,
              exec, release on a pool of ``target_idle = N, max_size = N + 4`` (``rounds * 20`` execs
              per level, after a warm-up round whose refills end before the clock starts), beside the
              same workers each holding one lease for all its execs (no acquire, no reset), beside
              ``Runtime.run`` through the runtime's on-demand pool, and beside one-shot ``Runtime.run``
              with ``use_pools=false`` (a fresh sandbox per exec, ``rounds * 2`` execs). Target: 300/s.
  burst       100 holders acquire at once from a pool of 20 (``max_size=20``, ``wait_then_fail``,
              ``wait_s=60``), each running one exec and releasing: time until the last is served, and
              the p50/p99 wait, beside 100 one-shot ``Runtime.run`` at once (``use_pools=false``: a
              sandbox each; their p50/p99 latency).
  memory      20 idle sandboxes (REPL context warmed by the template): per sandbox the sum of PSS and
              of RSS (``/proc/PID/smaps_rollup``) over its processes (bwrap included: its cgroup's
              processes and its process tree), and its memory cgroup's usage where it has one, beside a
              bare idle ``python3 -I -S``; and how many such sandboxes 24 GiB would hold.
              Targets: 15 MiB per sandbox, 500 per 24 GiB.
Each pool's line gives its counters and the most sandboxes it held at once (idle, leased and being
created, sampled every 5 ms) beside its max_size. Every pool is closed once its creations in flight
have ended; the run ends by checking that no sandbox left a workspace or a cgroup.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import percentile, private_dirs

from airlock import Pool, PoolConfig, PoolExhausted, Runtime, Sandbox, Settings, Template
from airlock.backends.cgroups import probe as probe_cgroups
from airlock.models import new_ulid

CONCURRENCY = (1, 8, 64)
BURST_HOLDERS, BURST_POOL = 100, 20
IDLE = 20
MACHINE_BYTES = 24 * 1024**3
MIB = 1024 * 1024

Worker = Callable[[Iterator[int]], Awaitable[None]]


def mean(samples: list[float]) -> float:
    return sum(samples) / len(samples)


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


class TrackingRuntime(Runtime):
    """A runtime that names every sandbox before making it, so the run can check none is left, also
    of creations cut short."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.made: set[str] = set()

    async def create_sandbox(self, **kwargs: Any) -> Sandbox:
        kwargs["sandbox_id"] = kwargs.get("sandbox_id") or new_ulid().lower()
        self.made.add(kwargs["sandbox_id"])
        return await super().create_sandbox(**kwargs)


async def print_one(sandbox: Sandbox) -> None:
    result = await sandbox.exec("print(1)")
    assert result.stdout == "1\n", result


async def one_shot(runtime: Runtime) -> None:
    result = await runtime.run("print(1)")
    assert result.stdout == "1\n", result


@dataclass
class Watched:
    """A pool, and the most sandboxes (idle, leased and being created) it held at once."""

    pool: Pool
    peak: int = 0

    def note(self) -> str:
        stats = self.pool.stats()
        return (
            f"acquired {stats.acquired}, cold starts {stats.cold_starts}, recycled {stats.recycled}, "
            f"exhausted {stats.exhausted}, peak size {self.peak} (max_size {self.pool.config.max_size})"
        )

    async def sample(self) -> None:
        while True:
            stats = self.pool.stats()
            self.peak = max(self.peak, stats.idle + stats.leased + stats.creating)
            await asyncio.sleep(0.005)

    async def settle(self, timeout: float = 120.0) -> None:
        """Wait for the pool's creations and destructions in flight. ``Pool.close`` cancels them, and a
        creation cancelled inside ``create_subprocess_exec`` hangs forever on Python < 3.14
        (CPython gh-103847), one cancelled in a thread leaves its workspace or cgroup behind."""
        async with asyncio.timeout(timeout):
            while self.pool._tasks:  # a task may start another
                await asyncio.wait(set(self.pool._tasks))


@contextlib.asynccontextmanager
async def warm_pool(runtime: Runtime, backend: str, **config: Any) -> AsyncIterator[Watched]:
    watched = Watched(Pool(runtime, PoolConfig(template=Template(name="bench", backend=backend), **config)))
    sampler = asyncio.create_task(watched.sample())
    try:
        await watched.pool.start()
        await watched.pool.wait_ready(timeout=120)
        yield watched
        await watched.settle()
    finally:
        sampler.cancel()
        await watched.pool.close()


# -- 1. acquire -------------------------------------------------------------------------------------
async def acquire_latency(runtime: Runtime, backend: str, rounds: int) -> tuple[list[float], list[float], str]:
    """Cold create times, warm acquire times (ms), and the pool's counters."""
    cold = []
    for _ in range(rounds):
        start = time.perf_counter()
        sandbox = await runtime.create_sandbox(backend=backend)
        cold.append(ms_since(start))
        runtime.detach(sandbox.id)
        await sandbox.destroy()
    warm = []
    async with warm_pool(runtime, backend, target_idle=4, max_size=4) as watched:
        pool = watched.pool
        for i in range(rounds * 10 + 10):
            start = time.perf_counter()
            sandbox = await pool.acquire()
            if i >= 10:  # the first ten warm up
                warm.append(ms_since(start))
            await pool.release(sandbox)
            await pool.settle()  # back idle: every acquire finds a warm pool
        note = watched.note()
    return cold, warm, note


# -- 2. throughput ----------------------------------------------------------------------------------
@dataclass
class Throughput:
    pooled: float
    held: float
    run: float
    one_shot: float
    release_p50: float
    exec_p50: float
    held_exec_p50: float
    note: str


async def rate(concurrency: int, ops: int, worker: Worker) -> float:
    """Execs per second of ``concurrency`` workers sharing ``ops`` tickets."""
    tickets = iter(range(ops))
    start = time.perf_counter()
    await asyncio.gather(*(worker(tickets) for _ in range(concurrency)))
    return ops / (time.perf_counter() - start)


async def throughput(runtime: Runtime, fresh: Runtime, backend: str, concurrency: int, rounds: int) -> Throughput:
    releases: list[float] = []
    execs: dict[str, list[float]] = {"pooled": [], "held": []}

    async def timed_exec(sandbox: Sandbox, side: str) -> None:
        start = time.perf_counter()
        await print_one(sandbox)
        execs[side].append(ms_since(start))

    async with warm_pool(runtime, backend, target_idle=concurrency, max_size=concurrency + 4) as watched:
        pool = watched.pool

        async def pooled(tickets: Iterator[int]) -> None:
            for _ in tickets:
                sandbox = await pool.acquire()
                await timed_exec(sandbox, "pooled")
                release = time.perf_counter()
                await pool.release(sandbox)
                releases.append(ms_since(release))

        async def held(tickets: Iterator[int]) -> None:
            async with pool.lease() as sandbox:
                for _ in tickets:
                    await timed_exec(sandbox, "held")

        await rate(concurrency, concurrency * 2, pooled)  # warm-up
        await watched.settle()  # the refills and resets it started end before the clock starts
        releases.clear()
        execs["pooled"].clear()
        pooled_rate = await rate(concurrency, rounds * 20, pooled)
        note = watched.note()
        await watched.settle()
        held_rate = await rate(concurrency, rounds * 20, held)

    def runs_of(rt: Runtime) -> Worker:
        async def worker(tickets: Iterator[int]) -> None:
            for _ in tickets:
                await one_shot(rt)

        return worker

    await rate(concurrency, concurrency, runs_of(runtime))  # the on-demand pool's sandboxes, made cold
    run_rate = await rate(concurrency, rounds * 20, runs_of(runtime))
    one_shot_rate = await rate(concurrency, max(rounds * 2, concurrency), runs_of(fresh))
    return Throughput(
        pooled=pooled_rate,
        held=held_rate,
        run=run_rate,
        one_shot=one_shot_rate,
        release_p50=percentile(releases, 0.5),
        exec_p50=percentile(execs["pooled"], 0.5),
        held_exec_p50=percentile(execs["held"], 0.5),
        note=note,
    )


# -- 3. burst ---------------------------------------------------------------------------------------
async def burst(runtime: Runtime, fresh: Runtime, backend: str) -> tuple[dict[str, tuple[float, list[float]]], str]:
    """Per side, ms until the last holder was served and each one's wait (one-shot: whole run)."""
    waits: list[float] = []
    failed = 0

    async with warm_pool(
        runtime, backend, target_idle=BURST_POOL, max_size=BURST_POOL, when_empty="wait_then_fail", wait_s=60.0
    ) as watched:
        pool = watched.pool

        async def holder(start: float) -> None:
            nonlocal failed
            try:
                sandbox = await pool.acquire()
            except PoolExhausted:
                failed += 1
                return
            waits.append(ms_since(start))
            try:
                await print_one(sandbox)
            finally:
                await pool.release(sandbox)

        start = time.perf_counter()
        await asyncio.gather(*(holder(start) for _ in range(BURST_HOLDERS)))
        done = ms_since(start)
        note = f"{watched.note()}, failed {failed}; all released after {done:.0f} ms"

    async def shot(start: float) -> float:
        await one_shot(fresh)
        return ms_since(start)

    start = time.perf_counter()
    runs = await asyncio.gather(*(shot(start) for _ in range(BURST_HOLDERS)))
    sides = {"pool": (max(waits, default=float("nan")), waits), "one-shot": (max(runs), list(runs))}
    return sides, note


# -- 4. memory --------------------------------------------------------------------------------------
def rollup(pid: int) -> tuple[int, int]:
    """PSS and RSS of one process in bytes (0, 0 if it is gone)."""
    found = {"Pss:": 0, "Rss:": 0}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, *value = line.split()
            if key in found:
                found[key] = int(value[0]) * 1024
    return found["Pss:"], found["Rss:"]


def tree(root: int) -> set[int]:
    """``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo += children.get(pid, [])
    return found


def cgroup_usage(sandbox: Sandbox) -> int | None:
    cgroup = getattr(sandbox._env, "cgroup", None)
    if cgroup is None:
        return None
    path = (
        cgroup.dirs["memory"] / "memory.usage_in_bytes" if cgroup.version == 1 else cgroup.dirs[""] / "memory.current"
    )
    with contextlib.suppress(OSError):
        return int(path.read_text())
    return None


def footprint(sandbox: Sandbox) -> tuple[int, int, int, int | None]:
    """Processes, PSS, RSS (bytes) and cgroup usage of one sandbox."""
    process = sandbox._env.process
    assert process is not None
    cgroup = getattr(sandbox._env, "cgroup", None)
    pids = tree(process.pid) | (cgroup.pids() if cgroup is not None else set())
    sizes = [rollup(pid) for pid in pids]
    return len(pids), sum(p for p, _ in sizes), sum(r for _, r in sizes), cgroup_usage(sandbox)


async def bare_python(python: str) -> tuple[int, int]:
    """PSS and RSS of an idle ``python3 -I -S`` (blocked reading stdin)."""
    process = await asyncio.create_subprocess_exec(
        python, "-I", "-S", "-c", "import sys; print(1, flush=True); sys.stdin.read()",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        await process.stdout.readline()
        return await asyncio.to_thread(rollup, process.pid)
    finally:
        process.stdin.close()
        await process.wait()


@dataclass
class Memory:
    processes: int
    pss: list[int]
    rss: list[int]
    cgroup: list[int]
    bare: tuple[int, int]


async def idle_memory(runtime: Runtime, backend: str, python: str) -> Memory:
    async with warm_pool(runtime, backend, target_idle=IDLE, max_size=IDLE) as watched:
        pool = watched.pool
        await asyncio.sleep(0.5)  # let the last ones settle
        leases = [await pool.acquire() for _ in range(IDLE)]  # handles on the idle ones; nothing runs
        try:
            sizes = await asyncio.to_thread(lambda: [footprint(sandbox) for sandbox in leases])
            bare = await bare_python(python)  # while the sandboxes live: the same pages shared
        finally:
            for sandbox in leases:
                await pool.release(sandbox)
    return Memory(
        processes=max(n for n, *_ in sizes),
        pss=[s[1] for s in sizes],
        rss=[s[2] for s in sizes],
        cgroup=[s[3] for s in sizes if s[3] is not None],
        bare=bare,
    )


# -- what is left behind ----------------------------------------------------------------------------
def leftovers(root: Path, made: set[str]) -> list[str]:
    found = [f"workspace {path}" for path in root.iterdir()]
    for parent in probe_cgroups().parents.values():
        found += [f"cgroup {c}" for c in parent.glob("airlock-*") if c.name.removeprefix("airlock-") in made]
    return found


# -- the report -------------------------------------------------------------------------------------
def report_acquire(cold: list[float], warm: list[float], note: str) -> None:
    base = percentile(cold, 0.5)
    print(f"1. acquire, {len(warm)} warm acquires, {len(cold)} cold creates")
    print(f"   {'':<14} {'p50 ms':>8} {'p99 ms':>8} {'p50 / cold':>11}")
    for name, samples in (("cold create", cold), ("warm acquire", warm)):
        p50 = percentile(samples, 0.5)
        print(f"   {name:<14} {p50:>8.3f} {percentile(samples, 0.99):>8.3f} {p50 / base:>10.4f}x")
    print(f"   target: warm p50 <= 1 ms: {verdict(percentile(warm, 0.5) <= 1.0)}; pool: {note}")


def report_throughput(rows: dict[int, Throughput], rounds: int) -> None:
    print(f"\n2. print(1) execs/s, {rounds * 20} per level (one-shot: {rounds * 2}, at least N)")
    print(
        f"   {'N':>3} {'pooled':>7} {'held':>6} {'run()':>6} {'one-shot':>8} {'/held':>6} {'/1-shot':>7} "
        f"{'release p50':>11} {'exec p50':>8} {'held exec':>9}  >= 300/s"
    )
    for n, t in rows.items():
        print(
            f"   {n:>3} {t.pooled:>7.0f} {t.held:>6.0f} {t.run:>6.0f} {t.one_shot:>8.1f} {t.pooled / t.held:>5.2f}x "
            f"{t.pooled / t.one_shot:>6.1f}x {t.release_p50:>11.3f} {t.exec_p50:>8.2f} {t.held_exec_p50:>9.2f}  "
            f"{verdict(t.pooled >= 300)}"
        )
    print(
        "   pooled: acquire, exec, release (the reset and the REPL's restart go on in the background);\n"
        "   held: one lease per worker for all its execs; run(): Runtime.run in a fresh process of a sandbox\n"
        "   from the runtime's on-demand pool; one-shot: Runtime.run with use_pools=false (a sandbox made\n"
        "   and destroyed per exec); p50 columns in ms, exec = print(1) alone in a leased or held sandbox"
    )
    for n, t in rows.items():
        print(f"   pool at N={n}: {t.note}")


def report_burst(sides: dict[str, tuple[float, list[float]]], note: str) -> None:
    print(f"\n3. {BURST_HOLDERS} at once on a pool of {BURST_POOL} (wait_then_fail, wait_s 60), each one exec")
    print(f"   {'':<10} {'last served ms':>15} {'p50 ms':>8} {'p99 ms':>8}")
    for name, (last, samples) in sides.items():
        if samples:
            print(f"   {name:<10} {last:>15.0f} {percentile(samples, 0.5):>8.1f} {percentile(samples, 0.99):>8.1f}")
        else:
            print(f"   {name:<10} nobody was served")
    print("   pool: wait until acquired; one-shot: whole run (create, exec, destroy)")
    print(f"   pool: {note}")


def report_memory(memory: Memory) -> None:
    print(f"\n4. memory per idle sandbox, {IDLE} idle, {memory.processes} processes each (bwrap, agent, REPL)")
    print(f"   {'MiB':<26} {'mean':>7} {'max':>7} {'/ bare':>7} {'per 24 GiB':>11}")
    rows = [
        ("PSS, sum of processes", memory.pss, memory.bare[0]),
        ("RSS, sum of processes", memory.rss, memory.bare[1]),
    ]
    if memory.cgroup:
        rows.append(("cgroup memory usage", memory.cgroup, memory.bare[0]))
    for name, values, bare in rows:
        mean = sum(values) / len(values)
        print(
            f"   {name:<26} {mean / MIB:>7.2f} {max(values) / MIB:>7.2f} {mean / bare:>6.1f}x "
            f"{int(MACHINE_BYTES // mean):>11}"
        )
    print(f"   {'bare python3 -I -S (PSS)':<26} {memory.bare[0] / MIB:>7.2f}   (RSS {memory.bare[1] / MIB:.2f})")
    pss = sum(memory.pss) / len(memory.pss)
    print(
        f"   targets: PSS <= 15 MiB: {verdict(pss <= 15 * MIB)}; "
        f">= 500 per 24 GiB (by PSS): {verdict(MACHINE_BYTES // pss >= 500)}"
    )


# -- the run ----------------------------------------------------------------------------------------
async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--backend", default="namespace")
    args = parser.parse_args()

    home, root = private_dirs("pool")
    settings = Settings(home=home, sandbox_root=root, backend=args.backend)
    python = settings.namespace.python if args.backend == "namespace" else sys.executable
    runtime = TrackingRuntime(settings)
    fresh = TrackingRuntime(settings.model_copy(update={"use_pools": False}))
    started = time.perf_counter()
    left: list[str] = []
    try:
        async with runtime, fresh:
            acquire = await acquire_latency(runtime, args.backend, args.rounds)
            rows = {n: await throughput(runtime, fresh, args.backend, n, args.rounds) for n in CONCURRENCY}
            sides, burst_note = await burst(runtime, fresh, args.backend)
            memory = await idle_memory(runtime, args.backend, python)
        print(f"Warm pool, backend {args.backend}, {os.cpu_count()} cores, {args.rounds} rounds")
        report_acquire(*acquire)
        report_throughput(rows, args.rounds)
        report_burst(sides, burst_note)
        report_memory(memory)
    finally:
        left = leftovers(root, runtime.made | fresh.made)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        if left:
            sys.stdout.flush()
            print("LEFT BEHIND:\n  " + "\n  ".join(left), file=sys.stderr)
    if left:
        raise SystemExit(1)
    elapsed = time.perf_counter() - started
    print(f"\n{len(runtime.made | fresh.made)} sandboxes made in {elapsed:.0f} s; none left a workspace or cgroup")


if __name__ == "__main__":
    asyncio.run(main())
