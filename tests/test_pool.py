"""The warm pool, on every backend the host runs: what a lease leaves behind is gone for the next one,
each strategy picks the sandbox it promises, a drained pool waits and then creates or fails, sick,
worn and old sandboxes are replaced, and closing leaves nothing running.

Which sandbox a pool hands out is observed through its id. Maintenance runs only when a test calls
``check()`` (the interval is an hour), so nothing changes behind a test's back.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from airlock import (
    ConfigError,
    ExecutionRequest,
    PoolConfig,
    PoolExhausted,
    PoolNotFound,
    Runtime,
    Sandbox,
    SandboxStartError,
    SandboxState,
    SandboxStateError,
    Settings,
    Strategy,
    Template,
)
from airlock.backends.base import OWNER_FILE
from airlock.pool import Pool, PooledSandbox

PoolFactory = Callable[..., Awaitable[Pool]]

#: Generous bounds against a hang; no test asserts on how fast anything is.
HANG_GUARD_S = 30

#: Python that prints the command line of every process it can see, one per line.
LIST_PROCESSES = """
import os
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                print(f.read().replace(b"\\0", b" ").decode(errors="replace").strip())
        except OSError:
            pass
"""


@pytest.fixture
async def make_pool(runtime: Runtime) -> AsyncIterator[PoolFactory]:
    """Started pools, filled to their idle target; every one is closed at teardown (a pool detaches
    its sandboxes from the runtime, so only closing the pool destroys them). Whatever a pool failed
    to destroy is destroyed after that, so a pool bug fails its own test and not the next one."""
    pools: list[Pool] = []
    created: list[Sandbox] = []

    async def factory(*, ready: bool = True, **options: Any) -> Pool:
        options = {"target_idle": 1, "max_size": 1, "wait_s": 0.1, "health_interval_s": 3600, **options}
        pool = Pool(runtime, PoolConfig(template=Template(name="test"), **options))
        create = pool._create

        async def tracked_create(**kwargs: Any) -> PooledSandbox:
            member = await create(**kwargs)
            created.append(member.sandbox)
            return member

        pool._create = tracked_create  # type: ignore[method-assign]
        pools.append(pool)
        await pool.start()
        if ready:
            await pool.wait_ready(HANG_GUARD_S)
        return pool

    yield factory
    for pool in pools:
        await pool.close()
    for sandbox in created:
        await sandbox.destroy()


def idle_ids(pool: Pool) -> list[str]:
    return [member.sandbox.id for member in pool._idle]


async def stdout_of(sandbox: Sandbox, code: str) -> str:
    result = await sandbox.exec(code)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


async def process_lines(sandbox: Sandbox) -> list[str]:
    return [line for line in (await stdout_of(sandbox, LIST_PROCESSES)).splitlines() if line]


async def kill_agent(sandbox: Sandbox) -> None:
    """Kill the sandbox's agent behind the pool's back, as a crash or the OOM killer would."""
    environment = sandbox._env
    assert environment.process is not None
    if sandbox.backend == "namespace" and getattr(environment, "cgroup", None) is not None:
        await asyncio.to_thread(environment.kill_everything)  # every process of its cgroup
    else:
        os.kill(environment.process.pid, signal.SIGKILL)
    await asyncio.wait_for(environment.process.wait(), HANG_GUARD_S)


async def picks(pool: Pool, count: int) -> list[str]:
    """The ids ``count`` acquire-and-release rounds hand out, one lease at a time, each release
    settled (a release returns at once; the reset goes on in the background)."""
    ids = []
    for _ in range(count):
        async with pool.lease() as sandbox:
            ids.append(sandbox.id)
        await pool.settle()  # the reset is done and the sandbox idle again
    return ids


# -- isolation across reuse --------------------------------------------------------------------------
async def test_reuse_leaves_nothing_of_the_previous_lease(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=1)
    namespace = pool.runtime.settings.backend == "namespace"

    async with pool.lease(env={"SECRET": "x"}) as first:
        assert await stdout_of(first, "import os; print(os.environ.get('SECRET'))") == "x"
        await first.write_file("left.txt", "from the first lease")
        await stdout_of(first, "open('made.txt', 'w').write('also')")
        if namespace:
            await stdout_of(first, "open('/tmp/left.txt', 'w').write('x'); open('/dev/shm/left', 'w').write('x')")
        await stdout_of(first, "import subprocess; sleeper = subprocess.Popen(['sleep', '271.5']); leftover = 1")
        assert await stdout_of(first, "print(sleeper.poll())") == "None", "the background process is not running"
        processes = await process_lines(first)
        assert [line for line in processes if "271.5" in line] == ["sleep 271.5"], processes

    await pool.settle()
    async with pool.lease(env={"OTHER": "y"}) as second:
        assert second.id == first.id, "a pool of one must hand out the same sandbox again"
        assert [f.name for f in await second.list_files()] == []
        if namespace:
            assert await stdout_of(second, "import os; print(os.listdir('/tmp'), os.listdir('/dev/shm'))") == "[] []"
        processes = await process_lines(second)
        assert not [line for line in processes if "271.5" in line]
        if namespace:  # only the agent and its REPL worker (a fork of it, same command line) are left
            assert len(set(processes)) == 1, processes
            assert "main.main()" in processes[0], processes
        result = await second.exec("leftover")
        assert result.error is not None
        assert result.error.name == "NameError"
        assert await stdout_of(second, "print('leftover' in globals(), 'sleeper' in globals())") == "False False"
        env = await stdout_of(second, "import os; print(os.environ.get('SECRET'), os.environ.get('OTHER'))")
        assert env == "None y"


async def test_a_lease_env_does_not_outlive_the_lease(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=1)
    sandbox = await pool.acquire(env={"SECRET": "x"})
    await pool.release(sandbox)
    await pool.settle()
    assert sandbox.env == {}
    async with pool.lease() as again:
        assert again.id == sandbox.id
        assert await stdout_of(again, "import os; print('SECRET' in os.environ)") == "False"


# -- strategies --------------------------------------------------------------------------------------
async def test_first_available_hands_out_the_longest_idle(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=3, max_size=3, strategy=Strategy.FIRST_AVAILABLE)
    a = await pool.acquire()
    b = await pool.acquire()
    await pool.release(b)
    await pool.settle()
    await pool.release(a)
    for _ in range(4):
        expected = idle_ids(pool)[0]
        async with pool.lease() as sandbox:
            assert sandbox.id == expected
        await pool.settle()


async def test_least_recently_used_hands_out_the_one_used_longest_ago(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=3, max_size=3, strategy=Strategy.LEAST_RECENTLY_USED)
    x1 = await pool.acquire()
    x2 = await pool.acquire()
    await pool.release(x2)
    await pool.settle()
    await pool.release(x1)  # idle order now: x3, x2, x1 - but x1 was used before x2
    (x3_id,) = set(idle_ids(pool)) - {x1.id, x2.id}
    assert await picks(pool, 1) == [x3_id]  # never used at all
    assert idle_ids(pool)[0] == x2.id  # so the next pick is not simply the first in line
    assert await picks(pool, 3) == [x1.id, x2.id, x3_id]


async def test_round_robin_cycles_through_every_sandbox(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=3, max_size=3, strategy=Strategy.ROUND_ROBIN)
    ids = await picks(pool, 6)
    assert len(set(ids[:3])) == 3, f"each of the 3 sandboxes should get a turn before any gets two: {ids}"
    assert ids[3:] == ids[:3], ids


async def test_best_performance_hands_out_the_fastest(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=3, max_size=3, strategy=Strategy.BEST_PERFORMANCE)
    for fastest in (2, 1):  # never the first in line, which any strategy might pick by accident
        for index, member in enumerate(pool._idle):
            member.latency_ms = 1.0 if index == fastest else 50.0
        expected = idle_ids(pool)[fastest]
        async with pool.lease() as sandbox:
            assert sandbox.id == expected
        await pool.settle()


async def test_weighted_random_favours_fresher_sandboxes(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=2, max_size=2, strategy=Strategy.WEIGHTED_RANDOM)
    fresh, worn = idle_ids(pool)
    random.seed(1234)
    counts = {fresh: 0, worn: 0}
    for _ in range(60):
        for member in pool._idle:
            member.uses = 0 if member.sandbox.id == fresh else 9  # weights 1 and 1/10
        async with pool.lease() as sandbox:
            counts[sandbox.id] += 1
        await pool.settle()
    assert counts[fresh] >= 2 * counts[worn], counts  # 1:10 expected; 1:1 would be uniform
    assert counts[worn] > 0, f"the worn sandbox must still be picked sometimes: {counts}"


# -- a drained pool ----------------------------------------------------------------------------------
async def test_wait_then_fail_raises_pool_exhausted(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=0, max_size=4, when_empty="wait_then_fail", wait_s=0.05)
    with pytest.raises(PoolExhausted) as caught:
        await pool.acquire()
    assert isinstance(caught.value, TimeoutError)
    stats = pool.stats()
    assert (stats.exhausted, stats.cold_starts, stats.leased) == (1, 0, 0)


async def test_wait_then_create_starts_cold_up_to_max_size(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=0, max_size=2, when_empty="wait_then_create", wait_s=0.05)
    first = await pool.acquire()
    assert pool.stats().cold_starts == 1
    second = await pool.acquire()
    assert pool.stats().cold_starts == 2
    assert first.id != second.id
    assert await stdout_of(second, "print(6 * 7)") == "42"
    with pytest.raises(PoolExhausted):
        await pool.acquire()
    stats = pool.stats()
    assert (stats.cold_starts, stats.exhausted, stats.leased) == (2, 1, 2)


async def test_a_waiting_acquire_gets_a_released_sandbox(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=1, when_empty="wait_then_fail", wait_s=HANG_GUARD_S)
    held = await pool.acquire()
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.1)
    assert not waiter.done(), "the acquire should wait for a sandbox to come back"
    await pool.release(held)
    got = await asyncio.wait_for(waiter, HANG_GUARD_S)
    assert got.id == held.id
    assert pool.stats().cold_starts == 0
    await pool.release(got)
    await pool.settle()


async def test_a_drained_pool_waits_for_a_reset_in_flight_rather_than_starting_cold(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=2, wait_s=HANG_GUARD_S)
    first = await pool.acquire()
    await pool.wait_ready(HANG_GUARD_S)  # the refill that replaced it
    second = await pool.acquire()
    await pool.release(first)  # being reset: on its way back
    third = await asyncio.wait_for(pool.acquire(), HANG_GUARD_S)
    assert third.id == first.id
    assert pool.stats().cold_starts == 0
    for sandbox in (second, third):
        await pool.release(sandbox)
    await pool.settle()


async def test_with_nothing_on_its_way_a_drained_pool_starts_cold_without_waiting(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=0, max_size=1, when_empty="wait_then_create", wait_s=3600)
    sandbox = await asyncio.wait_for(pool.acquire(), HANG_GUARD_S)  # not the hour it may wait
    assert pool.stats().cold_starts == 1
    assert await stdout_of(sandbox, "print('cold')") == "cold"
    await pool.release(sandbox)
    await pool.settle()


# -- health, wear and age ----------------------------------------------------------------------------
async def test_check_replaces_an_idle_sandbox_whose_agent_died(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=1)
    (victim,) = [member.sandbox for member in pool._idle]
    await kill_agent(victim)
    await pool.check()
    assert victim.id not in idle_ids(pool)
    assert pool.stats().recycled == 1
    await pool.wait_ready(HANG_GUARD_S)
    (replacement,) = idle_ids(pool)
    assert replacement != victim.id
    async with pool.lease() as sandbox:
        assert sandbox.id == replacement
        assert await stdout_of(sandbox, "print('alive')") == "alive"


async def test_acquire_never_hands_out_an_idle_sandbox_known_to_be_dead(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=2)
    (victim,) = [member.sandbox for member in pool._idle]
    await kill_agent(victim)
    for _ in range(100):  # until the host has seen the agent's channel close
        if not victim.alive:
            break
        await asyncio.sleep(0.02)
    async with pool.lease() as sandbox:
        assert sandbox.id != victim.id
        assert await stdout_of(sandbox, "print('alive')") == "alive"
    assert pool.stats().recycled >= 1


async def test_a_leased_sandbox_whose_agent_died_is_not_taken_back(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=1)
    sandbox = await pool.acquire()
    await kill_agent(sandbox)
    await pool.release(sandbox)
    await pool.settle()
    assert sandbox.id not in idle_ids(pool)
    assert pool.stats().recycled == 1
    await pool.wait_ready(HANG_GUARD_S)
    async with pool.lease() as fresh:
        assert fresh.id != sandbox.id
        assert await stdout_of(fresh, "print('alive')") == "alive"


async def test_max_uses_retires_a_sandbox(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=1, max_uses=2)
    first, second = await picks(pool, 2)
    assert first == second
    assert pool.stats().recycled == 1
    await pool.wait_ready(HANG_GUARD_S)
    (third,) = await picks(pool, 1)
    assert third != first


async def test_max_age_retires_a_sandbox_on_release(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=1, max_age_s=0.2)
    sandbox = await pool.acquire()
    await asyncio.sleep(0.3)
    await pool.release(sandbox)
    await pool.settle()
    assert sandbox.id not in idle_ids(pool)
    assert pool.stats().recycled == 1
    await pool.wait_ready(HANG_GUARD_S)
    assert idle_ids(pool) != [sandbox.id]


async def test_max_age_retires_an_idle_sandbox_on_check(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=1, max_age_s=0.2)
    (old,) = idle_ids(pool)
    await asyncio.sleep(0.3)
    await pool.check()
    assert old not in idle_ids(pool)
    assert pool.stats().recycled == 1
    await pool.wait_ready(HANG_GUARD_S)
    assert idle_ids(pool) != [old]


# -- closing -----------------------------------------------------------------------------------------
async def test_close_destroys_idle_and_leased_sandboxes(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=2, max_size=3)
    leased = await pool.acquire()
    await pool.wait_ready(HANG_GUARD_S)
    sandboxes = [leased, *(member.sandbox for member in pool._idle)]
    assert len(sandboxes) == 3
    await pool.close()
    assert [sandbox.state for sandbox in sandboxes] == [SandboxState.DESTROYED] * 3
    for sandbox in sandboxes:
        assert not await asyncio.to_thread(Path(sandbox.workspace_path).exists)
    with pytest.raises(SandboxStateError):
        await pool.acquire()
    await pool.close()  # a second close is a no-op


async def test_close_right_after_a_retiring_release_finishes_the_destroy(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=1, max_uses=1)
    sandbox = await pool.acquire()
    await pool.release(sandbox)  # over its uses: destroyed in the background
    await pool.close()  # must not cut that destroy short (the autouse check looks for what is left)
    assert sandbox.state is SandboxState.DESTROYED
    assert not await asyncio.to_thread(Path(sandbox.workspace_path).exists)


async def test_close_during_a_release_still_destroys_that_sandbox(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=1)
    sandbox = await pool.acquire()
    await pool.release(sandbox)  # returns at once; the reset goes on in the background
    assert pool.stats().resetting == 1
    await pool.close()
    assert idle_ids(pool) == []
    assert sandbox.state is SandboxState.DESTROYED


# -- stats -------------------------------------------------------------------------------------------
async def test_stats_after_warmup(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=2, max_size=3)
    stats = pool.stats()
    assert (stats.name, stats.language, stats.strategy) == ("test", "python", Strategy.FIRST_AVAILABLE)
    assert (stats.idle, stats.leased, stats.creating, stats.acquired) == (2, 0, 0, 0)
    assert (stats.cold_starts, stats.recycled, stats.exhausted) == (0, 0, 0)
    assert set(stats.boot) == {"spawn", "agent_ready", "first_exec"}
    assert all(phase.count == 2 and phase.p50_ms > 0 for phase in stats.boot.values()), stats.boot
    async with pool.lease():
        stats = pool.stats()
        assert (stats.leased, stats.acquired) == (1, 1)


# -- templates, sizes and hand-overs ------------------------------------------------------------------
async def test_min_size_is_kept_and_never_trimmed(make_pool: PoolFactory) -> None:
    pool = await make_pool(ready=False, target_idle=0, min_size=2, max_size=3)
    async with asyncio.timeout(HANG_GUARD_S), pool._changed:
        await pool._changed.wait_for(lambda: pool.stats().idle >= 2)
    await pool.check()  # two idle over a target of none: surplus, but at the minimum
    await pool.settle()
    assert (pool.stats().idle, pool.stats().recycled) == (2, 0)


async def test_template_files_and_setup_are_in_place_for_every_lease(runtime: Runtime) -> None:
    template = Template(
        name="tpl",
        files={"data/input.txt": "21"},
        setup="open('built.txt', 'w').write(str(2 * int(open('data/input.txt').read())))",
    )
    pool = Pool(runtime, PoolConfig(template=template, target_idle=1, max_size=1, health_interval_s=3600))
    await pool.start()
    try:
        await pool.wait_ready(HANG_GUARD_S)
        for _ in range(2):  # the second lease comes after a reset, which empties the workspace
            async with pool.lease() as sandbox:
                assert await stdout_of(sandbox, "print(open('built.txt').read())") == "42"
                await sandbox.write_file("data/input.txt", "changed by this lease")
                await sandbox.delete_file("built.txt")
            await pool.settle()
    finally:
        await pool.close()


async def test_a_failing_setup_fails_the_acquire_with_its_output(runtime: Runtime) -> None:
    template = Template(name="broken", setup="import sys; print('no such package', file=sys.stderr); sys.exit(3)")
    pool = Pool(runtime, PoolConfig(template=template, target_idle=0, max_size=1, wait_s=0, health_interval_s=3600))
    await pool.start()
    try:
        with pytest.raises(SandboxStartError, match="no such package"):
            await pool.acquire()
        stats = pool.stats()
        assert (stats.idle, stats.leased, stats.failed) == (0, 0, 1)
        assert "no such package" in (stats.last_error or "")
    finally:
        await pool.close()


async def test_take_hands_a_sandbox_over_for_good(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=2)
    sandbox = await pool.take(env={"OWNER": "me"})
    try:
        assert pool.stats().leased == 0
        with pytest.raises(SandboxStateError):
            await pool.release(sandbox)
        await pool.wait_ready(HANG_GUARD_S)
        assert idle_ids(pool) != [sandbox.id]
        assert await stdout_of(sandbox, "import os; print(os.environ['OWNER'])") == "me"
        await pool.close()
        assert sandbox.state is SandboxState.RUNNING, "closing the pool must not touch what it handed over"
    finally:
        await sandbox.destroy()


async def test_each_boot_phase_is_reported(runtime: Runtime) -> None:
    seen: list[tuple[str, dict[str, float]]] = []
    pool = Pool(
        runtime,
        PoolConfig(template=Template(name="timed"), target_idle=2, max_size=2, health_interval_s=3600),
        on_boot=lambda name, phases: seen.append((name, phases)),
    )
    await pool.start()
    try:
        await pool.wait_ready(HANG_GUARD_S)
    finally:
        await pool.close()
    assert [name for name, _ in seen] == ["timed", "timed"]
    for _, phases in seen:
        assert set(phases) == {"spawn", "agent_ready", "first_exec"}
        assert all(ms > 0 for ms in phases.values()), phases


async def test_releasing_twice_is_refused(make_pool: PoolFactory) -> None:
    pool = await make_pool(target_idle=1, max_size=1)
    sandbox = await pool.acquire()
    await pool.release(sandbox)
    with pytest.raises(SandboxStateError, match="not leased"):
        await pool.release(sandbox)


# -- a runtime's pools ---------------------------------------------------------------------------------
async def test_the_settings_declare_pools_that_start_with_the_runtime_pools(
    settings: Settings, backend_name: str
) -> None:
    declared = PoolConfig(template=Template(name="declared"), target_idle=1, max_size=2, health_interval_s=3600)
    custom = settings.model_copy(update={"backend": backend_name, "pools": [declared]})
    async with Runtime(custom) as runtime:
        assert list(runtime.pools) == [], "declared pools start only when asked to"
        await runtime.pools.start()
        pool = runtime.pools.get("declared")
        await pool.wait_ready(HANG_GUARD_S)
        (idle,) = idle_ids(pool)
        result = await runtime.run("print('from the declared pool')")  # it fits a plain request
        assert result.stdout == "from the declared pool\n"
        assert result.sandbox_id == idle
        assert [p.name for p in runtime.pools] == ["declared"], "no on-demand pool when a declared one fits"
        with pytest.raises(ConfigError, match="already a pool"):
            await runtime.pools.declare(declared)
    assert pool.closed


async def test_a_request_can_name_its_pool(runtime: Runtime) -> None:
    config = PoolConfig(
        template=Template(name="with-files", files={"hello.txt": "hi"}), target_idle=1, health_interval_s=3600
    )
    pool = await runtime.pools.declare(config)
    await pool.wait_ready(HANG_GUARD_S)
    (idle,) = idle_ids(pool)
    plain = await runtime.run("import os; print(os.listdir('.'))")
    assert plain.stdout == "[]\n", "a pool with files must not serve requests that did not ask for it"
    named = await runtime.execute(ExecutionRequest(code="print(open('hello.txt').read())", pool="with-files"))
    assert (named.stdout, named.sandbox_id) == ("hi\n", idle)
    with pytest.raises(PoolNotFound, match="with-files"):
        await runtime.execute(ExecutionRequest(code="print(1)", pool="no-such-pool"))


async def test_removing_a_pool_destroys_its_sandboxes(runtime: Runtime) -> None:
    pool = await runtime.pools.declare(
        PoolConfig(template=Template(name="gone"), target_idle=1, health_interval_s=3600)
    )
    await pool.wait_ready(HANG_GUARD_S)
    (member,) = pool._idle
    await runtime.pools.remove("gone")
    assert member.sandbox.state is SandboxState.DESTROYED
    assert not await asyncio.to_thread(Path(member.sandbox.workspace_path).exists)
    with pytest.raises(PoolNotFound):
        runtime.pools.get("gone")


# -- sandboxes whose maker died ------------------------------------------------------------------------
async def test_reap_orphans_removes_only_what_a_dead_process_left(runtime: Runtime) -> None:
    dead = await asyncio.create_subprocess_exec("true")
    await dead.wait()
    orphan, kept, alive = [await runtime.create_sandbox() for _ in range(3)]
    for sandbox in (orphan, kept, alive):
        runtime.detach(sandbox.id)
    try:
        await stdout_of(orphan, "import subprocess; subprocess.Popen(['sleep', '419.5']); print('started')")
        root = runtime.settings.sandboxes_dir
        for sandbox in (orphan, kept):  # as if their maker had died
            owner = root / sandbox.id / OWNER_FILE
            owner.write_text(owner.read_text().replace(str(os.getpid()), str(dead.pid), 1))
        reaped = await runtime.reap_orphans(keep={kept.id})
        mine = {orphan.id, kept.id, alive.id}  # a stopped live server of another module may leave its own
        assert [sandbox_id for sandbox_id in reaped if sandbox_id in mine] == [orphan.id]
        assert not await asyncio.to_thread((root / orphan.id).exists)
        assert await asyncio.to_thread((root / kept.id).exists)
        assert await asyncio.to_thread((root / alive.id).exists)
        assert not [pid for pid in os.listdir("/proc") if pid.isdigit() and "419.5" in _cmdline(pid)]
    finally:
        for sandbox in (orphan, kept, alive):
            await sandbox.destroy()


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
