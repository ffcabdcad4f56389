"""The audit log is append-only and hash-chained: every append (the server's ``store.add_audit``
included) extends one chain, also with two writers on one file; ``verify`` names each record that
was edited, removed or reordered behind the store's back, and a head kept elsewhere catches
truncation; written behind, nothing is lost; ``airlock audit verify`` and ``airlock audit tail``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from airlock.cli import main
from airlock.errors import AirlockError
from airlock.policy.audit import AuditHead, AuditLog
from airlock.store import AuditEvent
from airlock.store.sqlite import MIGRATIONS, SQLiteStore

RECORDS = 10


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "airlock.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(db_path) as opened:
        yield opened


@pytest.fixture
async def log(store: SQLiteStore) -> AuditLog:
    """A log of ``RECORDS`` records, seq 1 to 10."""
    audit = AuditLog(store)
    for n in range(1, RECORDS + 1):
        await audit.append("sandbox.exec", tenant="acme", actor="key-1", target=f"sb-{n}", n=n)
    return audit


def sql(path: Path, statement: str, *args: Any) -> list[Any]:
    """Run one statement on the database file directly, as someone with write access would."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute(statement, args).fetchall()
        db.commit()
    return rows


def stored(path: Path, seq: int) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(sql(path, "SELECT data FROM audit WHERE seq = ?", seq)[0][0])
    return body


# -- the chain --------------------------------------------------------------------------------------
async def test_the_servers_appends_are_chained_from_the_genesis_hash(store: SQLiteStore, db_path: Path) -> None:
    events = [
        AuditEvent(tenant="acme", actor="key-1", action=f"sandbox.{a}", target="sb-1") for a in ("create", "stop")
    ]
    for event in events:  # what Service.audit does
        await store.add_audit(event)

    assert [(e.seq, e.prev_hash) for e in events] == [(1, AuditEvent.GENESIS), (2, events[0].hash)]
    for event in events:
        body = stored(db_path, event.seq or 0)
        assert body == json.loads(event.model_dump_json())
        assert body["hash"] == AuditEvent.digest(body) == event.hash
    assert [e.id for e in await store.list_audit("acme")] == [events[1].id, events[0].id]
    report = await AuditLog(store).verify()
    assert (report.ok, report.records, report.problems) == (True, 2, [])
    assert report.head == AuditHead(seq=2, hash=events[1].hash)


async def test_a_long_log_verifies_page_by_page_and_across_a_reopen(db_path: Path) -> None:
    async with SQLiteStore(db_path) as store:
        for _ in range(5):
            await store.add_audits([AuditEvent(tenant="t", action="sandbox.exec", detail={"n": n}) for n in range(500)])
        assert (await AuditLog(store).verify()).records == 2500
    async with SQLiteStore(db_path) as store:
        log = AuditLog(store)
        await log.append("sandbox.delete", tenant="t", target="sb-1")
        report = await log.verify()
        head = await log.head()

    assert (report.ok, report.records) == (True, 2501)
    assert head == AuditHead(seq=2501, hash=stored(db_path, 2501)["hash"])
    assert stored(db_path, 2501)["prev_hash"] == stored(db_path, 2500)["hash"]


async def test_two_stores_on_one_file_appending_at_once_do_not_fork_the_chain(db_path: Path) -> None:
    async with SQLiteStore(db_path) as one, SQLiteStore(db_path) as two:
        logs = [AuditLog(one), AuditLog(two)]
        ids = await asyncio.gather(*(logs[n % 2].append("sandbox.exec", n=n) for n in range(300)))
        report = await logs[0].verify()

    assert (report.ok, report.records) == (True, 300)
    assert sql(db_path, "SELECT COUNT(DISTINCT id), MIN(seq), MAX(seq) FROM audit") == [(300, 1, 300)]
    assert {row[0] for row in sql(db_path, "SELECT id FROM audit")} == set(ids)


async def test_two_processes_appending_to_one_file_do_not_fork_the_chain(store: SQLiteStore, db_path: Path) -> None:
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from airlock.policy.audit import AuditLog\n"
        "from airlock.store.sqlite import SQLiteStore\n"
        "async def main():\n"
        "    async with SQLiteStore(Path(sys.argv[1])) as store:\n"
        "        log = AuditLog(store)\n"
        "        for n in range(300):\n"
        "            await log.append('network.connect', host='example.org', port=443, n=n)\n"
        "            await asyncio.sleep(0.001)  # SQLite's busy wait is not fair: let the other in\n"
        "asyncio.run(main())\n"
    )
    other = await asyncio.create_subprocess_exec(sys.executable, "-c", script, str(db_path))
    log, mine = AuditLog(store), 0
    while other.returncode is None:  # appends for as long as the other process does
        await log.append("sandbox.exec", n=mine)
        mine += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(other.wait(), 0.001)

    report = await log.verify()
    assert other.returncode == 0
    assert (report.ok, report.records, report.problems) == (True, 300 + mine, [])
    actions = [row[0] for row in sql(db_path, "SELECT json_extract(data, '$.action') FROM audit ORDER BY seq")]
    assert actions.count("network.connect") == 300
    first, last = actions.index("network.connect"), len(actions) - actions[::-1].index("network.connect")
    assert "sandbox.exec" in actions[first:last]  # the two did append at the same time


async def test_records_written_before_the_chain_are_chained_by_the_migration(db_path: Path) -> None:
    old = [AuditEvent(tenant="acme", action="sandbox.create", target=f"sb-{n}") for n in range(3)]
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        db.executescript(f"CREATE TABLE schema_version (version INTEGER NOT NULL); {MIGRATIONS[0]}")
        db.execute("INSERT INTO schema_version VALUES (1)")
        for event in reversed(old):  # the order of their times, not of their insertion, counts
            data = event.model_dump_json(exclude={"seq", "prev_hash", "hash"})
            db.execute(
                "INSERT INTO audit VALUES (?, ?, ?, ?)", (event.id, event.tenant, event.created_at.isoformat(), data)
            )
        db.commit()

    async with SQLiteStore(db_path) as store:
        log = AuditLog(store)
        await log.append("sandbox.delete", tenant="acme", target="sb-0")
        report = await log.verify()
        chain = await log.tail(10)

    assert (report.ok, report.records) == (True, 4)
    assert [e.id for e in chain[:3]] == [e.id for e in old]
    assert [e.seq for e in chain] == [1, 2, 3, 4]
    assert sql(db_path, "SELECT MAX(version) FROM schema_version") == [(len(MIGRATIONS),)]


# -- tampering --------------------------------------------------------------------------------------
async def test_an_edited_record_is_found(log: AuditLog, db_path: Path) -> None:
    sql(db_path, "UPDATE audit SET data = json_set(data, '$.detail.n', 99) WHERE seq = 4")

    report = await log.verify()

    assert (report.ok, report.records) == (False, RECORDS)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("seq 4 (id ")
    assert report.problems[0].endswith("edited: its content does not match its hash")


async def test_an_edited_and_rehashed_record_is_found_by_the_next_ones_prev_hash(log: AuditLog, db_path: Path) -> None:
    body = stored(db_path, 4)
    body["actor"] = "someone-else"
    body["hash"] = AuditEvent.digest(body)
    sql(db_path, "UPDATE audit SET data = ? WHERE seq = 4", json.dumps(body))

    report = await log.verify()

    assert not report.ok
    assert len(report.problems) == 1
    assert report.problems[0].startswith("seq 5 (id ")
    assert "its prev_hash is not the hash of seq 4: that record was edited" in report.problems[0]


async def test_a_removed_record_is_found(log: AuditLog, db_path: Path) -> None:
    sql(db_path, "DELETE FROM audit WHERE seq = 5")
    sql(db_path, "DELETE FROM audit WHERE seq IN (1, 2)")

    report = await log.verify()

    assert (report.ok, report.records) == (False, RECORDS - 3)
    assert report.problems == [
        "seq 1 to 2: removed (the chain starts at seq 3)",
        "seq 5: removed (the chain goes from seq 4 to 6)",
    ]


async def test_reordered_records_are_found(log: AuditLog, db_path: Path) -> None:
    sql(db_path, "UPDATE audit SET seq = -1 WHERE seq = 3")
    sql(db_path, "UPDATE audit SET seq = 3 WHERE seq = 6")
    sql(db_path, "UPDATE audit SET seq = 6 WHERE seq = -1")

    report = await log.verify()

    assert not report.ok
    assert [p.split(" (id ")[0] for p in report.problems] == ["seq 3", "seq 6"]
    assert report.problems[0].endswith("reordered: it was written as seq 6")
    assert report.problems[1].endswith("reordered: it was written as seq 3")


async def test_a_record_inserted_by_hand_is_found(log: AuditLog, db_path: Path) -> None:
    forged = stored(db_path, RECORDS) | {"id": "01FORGED", "seq": RECORDS + 1, "action": "sandbox.delete"}
    sql(db_path, "INSERT INTO audit VALUES (?, ?, ?, ?, ?)", RECORDS + 1, "01FORGED", "acme", "t", json.dumps(forged))
    sql(db_path, "UPDATE audit SET data = 'not json' WHERE seq = 2")
    sql(db_path, "INSERT INTO audit SELECT -7, 'early', tenant, created_at, data FROM audit WHERE seq = 1")

    report = await log.verify()

    assert report.problems == [
        "seq -7: not in the chain, which starts at seq 1: put there by hand",
        "seq 2: edited: its record is not a JSON object any more",
        f"seq {RECORDS + 1} (id 01FORGED): edited: its content does not match its hash",
    ]
    assert [e.seq for e in await log.tail(3)] == [9, 10, 11]  # tail still reads what it can


async def test_truncation_is_found_only_against_a_head_kept_elsewhere(log: AuditLog, db_path: Path) -> None:
    head = await log.head()
    assert head == AuditHead(seq=RECORDS, hash=stored(db_path, RECORDS)["hash"])
    assert (await log.verify(expect_head=head)).ok
    sql(db_path, f"DELETE FROM audit WHERE seq >= {RECORDS - 1}")

    assert (await log.verify()).ok  # a shorter chain is still a valid chain
    truncated = await log.verify(expect_head=head)
    assert truncated.problems == [f"seq {RECORDS}: removed: the head kept elsewhere is gone (the log was truncated)"]

    await log.append("sandbox.exec", n=0)
    await log.append("sandbox.exec", n=1)  # the chain grows again past the old head
    rewritten = await log.verify(expect_head=head)
    assert rewritten.problems == [f"seq {RECORDS}: edited: not the head kept elsewhere (the chain was rewritten)"]
    assert AuditHead.parse(str(head)) == head


# -- written behind ---------------------------------------------------------------------------------
async def test_written_behind_nothing_is_lost(store: SQLiteStore) -> None:
    log = AuditLog(store, behind=True)
    first = [await log.append("network.connect", host="example.org", port=443, allowed=False) for _ in range(100)]
    await asyncio.sleep(0.5)  # the background task wrote them, unasked
    assert [e.id for e in await AuditLog(store).tail(200)] == first

    later = [await log.append("sandbox.exec", n=n) for n in range(49)]
    later.append(await log.append("policy.verdict", event_id="01GIVEN", decision="deny"))
    assert later[-1] == "01GIVEN"
    await log.aclose()

    assert [e.id for e in await AuditLog(store).tail(200)] == first + later
    assert (await AuditLog(store).verify()).records == 150


async def test_written_behind_a_batch_the_store_refuses_stays_pending(store: SQLiteStore) -> None:
    log = AuditLog(store, behind=True)
    await store.close()
    ids = [await log.append("sandbox.exec", n=n) for n in range(3)]
    with pytest.raises(AirlockError, match="not open"):
        await log.flush()

    await store.open()
    await log.aclose()

    assert [e.id for e in await log.tail()] == ids
    assert (await log.verify()).ok


async def test_what_cannot_be_serialised_fails_the_append_itself(store: SQLiteStore) -> None:
    log = AuditLog(store, behind=True)
    with pytest.raises(ValueError, match="serialize"):
        await log.append("sandbox.exec", thing=object())
    await log.append("sandbox.exec", n=1)
    await log.aclose()
    assert len(await log.tail()) == 1


# -- reading ----------------------------------------------------------------------------------------
async def test_tail_is_the_newest_oldest_first_and_can_show_only_the_network(store: SQLiteStore) -> None:
    log = AuditLog(store)
    await log.append("network.connect", host="pypi.org", port=443, allowed=True, reason="allowlist", sandbox_id="sb")
    await log.append("network.connect", host="evil.example", port=80, allowed=False, reason="denied", sandbox_id="sb")
    await store.add_audits([AuditEvent(tenant="t", action="sandbox.exec", detail={"n": n}) for n in range(1200)])

    assert [e.seq for e in await log.tail(3)] == [1200, 1201, 1202]
    assert [e.seq for e in await log.tail(2, since_seq=1)] == [2, 3]
    network = await log.tail(20, network_only=True)
    assert [(e.detail["host"], e.detail["allowed"]) for e in network] == [("pypi.org", True), ("evil.example", False)]
    assert await log.tail(0) == []


# -- the command line -------------------------------------------------------------------------------
@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRLOCK_CONFIG", str(tmp_path / "no-config.toml"))
    return tmp_path / "home"


def fill(home: Path) -> None:
    async def append() -> None:
        async with SQLiteStore(home / "airlock.db") as store:
            log = AuditLog(store)
            for n in range(4):
                await log.append("sandbox.exec", tenant="acme", target="sb-1", n=n)
            await log.append("network.connect", host="example.org", port=443, allowed=False, reason="not allowed")

    asyncio.run(append())


def test_cli_verify_exits_0_when_intact_and_1_when_tampered(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill(home)
    assert main(["audit", "verify"]) == 0
    intact = capsys.readouterr().out
    assert intact.startswith("intact: 5 records; head 5:")
    head = intact.split("head ")[1].strip()

    sql(home / "airlock.db", "UPDATE audit SET data = json_set(data, '$.target', 'sb-2') WHERE seq = 2")
    sql(home / "airlock.db", "DELETE FROM audit WHERE seq = 5")
    assert main(["audit", "verify"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "TAMPERED: 1 problems in 4 records"
    assert lines[1].startswith("  seq 2 (id ")
    assert lines[1].endswith("edited: its content does not match its hash")

    assert main(["audit", "verify", "--json", "--expect-head", head]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["records"], len(report["problems"])) == (False, 4, 2)
    assert "truncated" in report["problems"][1]


def test_cli_verify_rejects_a_malformed_head(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["audit", "verify", "--expect-head", "5:abc"])
    assert exited.value.code == 2
    assert "SEQ:HASH" in capsys.readouterr().err


def test_cli_tail_and_its_network_filter(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill(home)
    assert main(["audit", "tail", "-n", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["4", "5"]
    assert lines[0].endswith('sandbox.exec       tenant=acme target=sb-1 {"n":3}')

    assert main(["audit", "tail", "--network", "--json"]) == 0
    shown = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["seq"], r["action"], r["detail"]["host"]) for r in shown] == [(5, "network.connect", "example.org")]


async def test_cli_tail_follow_prints_new_records_until_interrupted(home: Path) -> None:
    async with SQLiteStore(home / "airlock.db") as store:
        log = AuditLog(store)
        await log.append("network.connect", host="a.example", port=443, allowed=True)
        follower = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "airlock",
            "audit",
            "tail",
            "--follow",
            "--network",
            "--json",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(os.environ),
        )
        assert follower.stdout is not None
        try:
            seen = [json.loads(await asyncio.wait_for(follower.stdout.readline(), 30))["detail"]["host"]]
            await log.append("sandbox.exec", n=1)
            await log.append("network.connect", host="b.example", port=80, allowed=False)
            seen.append(json.loads(await asyncio.wait_for(follower.stdout.readline(), 30))["detail"]["host"])
        finally:
            follower.send_signal(signal.SIGINT)
            _, errors = await asyncio.wait_for(follower.communicate(), 30)

    assert seen == ["a.example", "b.example"]
    assert follower.returncode == 130, errors.decode()
