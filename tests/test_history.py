"""The library's execution history: every exec of a runtime's sandboxes and every ``Runtime.run`` is
recorded (a pool's own set-up is not), with what was taken and rolled back; queries by sandbox,
agent, status and time; what is kept of the code; retention by age and count; ``airlock history
--local`` shows it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from airlock import PoolConfig, Runtime, Settings, SnapshotPolicy, Template
from airlock.config import HistoryConfig
from airlock.history import LOCAL_TENANT, History
from airlock.models import ExecutionRequest
from airlock.store import ExecutionQuery, ExecutionRecord, utcnow
from airlock.store.sqlite import SQLiteStore


def with_history(settings: Settings, backend: str, **config: object) -> Settings:
    return settings.model_copy(update={"backend": backend, "history": HistoryConfig.model_validate(config)})


async def test_every_exec_and_run_is_recorded(runtime: Runtime) -> None:
    assert runtime.history is not None
    one_shot = await runtime.run("print('once')")
    async with runtime.sandbox(language="bash") as sb:
        await sb.exec("echo hi", agent_id="agent-1")
        await sb.exec("exit 4", agent_id="agent-2")
        await sb.run_command(["ls", "-a", "two words"])

    records = await runtime.history.query()
    assert [(r.language, r.code, r.status, r.exit_code) for r in reversed(records)] == [
        ("python", "print('once')", "ok", 0),
        ("bash", "echo hi", "ok", 0),
        ("bash", "exit 4", "error", 4),
        ("command", "ls -a 'two words'", "error", 2),
    ]
    assert one_shot.success
    assert all(r.tenant == LOCAL_TENANT and r.duration_ms > 0 for r in records)
    assert [r.agent_id for r in await runtime.history.query(sandbox_id=sb.id)] == [None, "agent-2", "agent-1"]
    assert [r.code for r in await runtime.history.query(agent_id="agent-2")] == ["exit 4"]
    assert [r.code for r in await runtime.history.query(status="ok", sandbox_id=sb.id)] == ["echo hi"]


async def test_queries_by_time(runtime: Runtime) -> None:
    assert runtime.history is not None
    async with runtime.sandbox() as sb:
        await sb.exec("1")
        middle = utcnow()
        await sb.exec("2")
    assert [r.code for r in await runtime.history.query(since=middle)] == ["2"]
    assert [r.code for r in await runtime.history.query(until=middle)] == ["1"]
    assert await runtime.history.query(since=middle + timedelta(hours=1)) == []
    assert len(await runtime.history.query(limit=1)) == 1


async def test_snapshots_taken_and_rollbacks_are_recorded(runtime: Runtime) -> None:
    assert runtime.history is not None
    async with runtime.sandbox() as sb:
        sb.policy = SnapshotPolicy(auto_rollback_on_failure=True, snapshot_on_failure=True)
        failed = await sb.exec("open('x', 'w').write('x'); raise SystemExit(1)", context=None)
        fine = await sb.exec("print(1)", context=None)
    newest, oldest = await runtime.history.query()
    assert (oldest.snapshots, oldest.rolled_back_to) == (failed.snapshots, failed.rolled_back_to)
    assert len(oldest.snapshots) == 2
    assert oldest.rolled_back_to == oldest.snapshots[0]
    assert (newest.snapshots, newest.rolled_back_to) == (fine.snapshots, None)
    assert len(newest.snapshots) == 1


async def test_a_cancelled_exec_is_recorded_as_killed(runtime: Runtime) -> None:
    assert runtime.history is not None
    async with runtime.sandbox() as sb:
        task = asyncio.create_task(sb.exec("import time; time.sleep(60)"))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    (record,) = await runtime.history.query()
    assert (record.status, record.code) == ("killed", "import time; time.sleep(60)")


async def test_a_pools_own_set_up_is_not_history_but_its_leases_are(settings: Settings, backend_name: str) -> None:
    template = Template(name="tpl", backend=backend_name, setup="print('set-up')")
    async with Runtime(settings.model_copy(update={"backend": backend_name})) as runtime:
        assert runtime.history is not None
        pool = await runtime.pools.declare(PoolConfig(template=template, target_idle=1))
        async with pool.lease() as sb:
            await sb.exec("print('leased')")
        taken = await pool.take()
        try:
            await taken.exec("print('taken')")
        finally:
            await taken.destroy()
        await runtime.execute(ExecutionRequest(code="print('pooled run')", pool="tpl"))
        await pool.close()
        codes = [r.code for r in await runtime.history.query()]
    assert codes == ["print('pooled run')", "print('taken')", "print('leased')"]


@pytest.mark.parametrize(
    ("keep", "code", "hashed"), [("full", "print(7)", True), ("hash", None, True), ("none", None, False)]
)
async def test_what_is_kept_of_the_code(
    settings: Settings, backend_name: str, keep: str, code: str | None, hashed: bool
) -> None:
    async with Runtime(with_history(settings, backend_name, keep_code=keep)) as runtime:
        assert runtime.history is not None
        await runtime.run("print(7)")
        (record,) = await runtime.history.query()
    assert record.code == code
    assert (record.code_sha256 is not None) == hashed
    stored = b"".join(path.read_bytes() for path in settings.home.glob("airlock.db*"))
    assert (b"print(7)" in stored) == (keep == "full")


async def test_history_off_records_nothing(settings: Settings, backend_name: str) -> None:
    async with Runtime(with_history(settings, backend_name, record=False)) as runtime:
        assert runtime.history is None
        assert (await runtime.run("print(1)")).success
    store = SQLiteStore(settings.database)  # the audit log is still kept there; the history is not
    await store.open()
    try:
        assert await store.list_executions(ExecutionQuery(tenant=LOCAL_TENANT)) == []
        assert [event.action for event in await store.list_audit()] == ["exec.post_exec"]
    finally:
        await store.close()


def record(started_minutes_ago: float, tenant: str = LOCAL_TENANT) -> ExecutionRecord:
    return ExecutionRecord(
        tenant=tenant,
        sandbox_id=None,
        language="python",
        exit_code=0,
        status="ok",
        started_at=utcnow() - timedelta(minutes=started_minutes_ago),
    )


async def test_retention_by_age_and_count_per_tenant(tmp_path: Path) -> None:
    async with SQLiteStore(tmp_path / "h.db") as store:
        history = History(store, HistoryConfig(max_age_days=1, max_records=3))
        for minutes in (2 * 24 * 60, 30, 20, 10, 5):
            await store.add_execution(record(minutes))
        for minutes in (40, 3):
            await store.add_execution(record(minutes, tenant="other"))
        assert await history.prune() == 2  # the 2-day-old one by age, then the oldest past three
        kept = await history.query()
        assert [round((utcnow() - r.started_at).total_seconds() / 60) for r in kept] == [5, 10, 20]
        assert len(await history.query(tenant="other")) == 2


async def test_a_runtime_prunes_when_it_opens_its_history(settings: Settings, backend_name: str) -> None:
    async with SQLiteStore(settings.database) as store:
        await store.add_execution(record(60 * 24 * 365))
    async with Runtime(with_history(settings, backend_name, max_age_days=30)) as runtime:
        assert runtime.history is not None
        await runtime.run("print(1)")
        assert [r.code for r in await runtime.history.query()] == ["print(1)"]


def test_airlock_history_local_shows_the_library_runs(settings: Settings, namespace_backend: str) -> None:
    env = {"AIRLOCK_HOME": str(settings.home), "AIRLOCK_SANDBOX_ROOT": str(settings.sandboxes_dir)}

    def airlock(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "airlock", *args],
            env={**_base_env(), **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    airlock("run", "-l", "python", "-c", "print('from the cli')")
    shown = json.loads(airlock("history", "--local", "--json", "--since", "5m"))
    assert [(r["code"], r["status"]) for r in shown] == [("print('from the cli')", "ok")]


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")} | {
        "AIRLOCK_CONFIG": "/nonexistent/airlock.toml"
    }


def test_history_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="keep_code"):
        HistoryConfig.model_validate({"keep_code": "some"})
    with pytest.raises(ValueError, match="max_records"):
        HistoryConfig.model_validate({"max_records": 0})
