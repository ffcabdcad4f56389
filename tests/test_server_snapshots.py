"""Snapshots over every face of the server: REST (take, list, restore, delete, fork, roll back, the
per-sandbox policy), the SDK and the CLI; a restore that fails part way quarantines the sandbox
and says so; policy, quarantine, snapshots and history survive a restart; tenants cannot reach
each other's snapshots."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from airlock import AsyncClient, Client, SandboxStateError, SnapshotPolicy
from airlock.cli_remote import EXIT_REFUSED
from airlock.errors import SnapshotError, SnapshotNotFound
from conftest import LiveServer, module_server
from server_api import create, error, exec_ok, http
from test_cli_remote import ok, one_line_error

ROLLBACK = {"snapshot_before_exec": True, "auto_rollback_on_failure": True, "snapshot_on_failure": False}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sandbox_root: Path) -> Iterator[LiveServer]:
    with module_server(tmp_path_factory.mktemp("snapshots-server"), sandbox_root) as server:
        yield server


@pytest.fixture
def api(server: LiveServer, namespace_backend: str) -> Iterator[httpx.Client]:
    with http(server) as client:
        yield client


def files_of(api: httpx.Client, sandbox_id: str) -> dict[str, str]:
    """Every file of the workspace (and /tmp) with its content, as code in the sandbox sees them."""
    code = """
import os, json
found = {}
for root in ('.', '/tmp'):
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            found[p] = open(p, errors='replace').read()
print(json.dumps(found, sort_keys=True))
"""
    result = exec_ok(api, sandbox_id, code, context=None)
    assert result["exit_code"] == 0, result["stderr"]
    found: dict[str, str] = json.loads(result["stdout"])
    return found


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """``chattr +i`` for the block: not even root may remove the file (a restore fails part way)."""
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def snap(api: httpx.Client, sandbox_id: str, **body: Any) -> dict[str, Any]:
    reply = api.post(f"/v1/sandboxes/{sandbox_id}/snapshots", json=body)
    assert reply.status_code == 201, reply.text
    info: dict[str, Any] = reply.json()
    return info


# -- REST --------------------------------------------------------------------------------------------
def test_take_list_restore_and_delete_over_rest(api: httpx.Client) -> None:
    sandbox = create(api)
    exec_ok(api, sandbox, "open('a.txt', 'w').write('first'); open('/tmp/t.txt', 'w').write('tmp')", context=None)
    before = files_of(api, sandbox)
    taken = snap(api, sandbox, name="good", pinned=True)
    assert (taken["name"], taken["pinned"], taken["memory"]) == ("good", True, False)

    exec_ok(api, sandbox, "import os; os.remove('a.txt'); open('b.txt', 'w').write('junk')", context=None)
    exec_ok(api, sandbox, "import os; os.remove('/tmp/t.txt')", context=None)
    assert files_of(api, sandbox) != before

    listed = api.get(f"/v1/sandboxes/{sandbox}/snapshots").json()["snapshots"]
    assert [s["id"] for s in listed] == [taken["id"]]
    assert api.get(f"/v1/sandboxes/{sandbox}/snapshots/{taken['id']}").json() == taken

    reply = api.post(f"/v1/sandboxes/{sandbox}/snapshots/{taken['id']}/restore")
    assert reply.status_code == 200, reply.text
    assert reply.json()["snapshot"]["id"] == taken["id"]
    assert reply.json()["sandbox"]["status"] == "running"
    assert files_of(api, sandbox) == before

    assert api.delete(f"/v1/sandboxes/{sandbox}/snapshots/{taken['id']}").status_code == 204
    assert api.get(f"/v1/sandboxes/{sandbox}/snapshots").json()["snapshots"] == []
    restore = api.post(f"/v1/sandboxes/{sandbox}/snapshots/{taken['id']}/restore")
    assert error(restore, 404) == "snapshot_not_found"


def test_unknown_and_foreign_snapshots_are_not_found(server: LiveServer, api: httpx.Client) -> None:
    sandbox = create(api)
    taken = snap(api, sandbox)
    for bad in ("nope", "a.b", "0" * 26):
        assert error(api.get(f"/v1/sandboxes/{sandbox}/snapshots/{bad}"), 404) == "snapshot_not_found"
    with http(server, "mallory") as other:
        for method, tail in (
            ("GET", "snapshots"),
            ("GET", f"snapshots/{taken['id']}"),
            ("POST", f"snapshots/{taken['id']}/restore"),
            ("POST", f"snapshots/{taken['id']}/fork"),
            ("DELETE", f"snapshots/{taken['id']}"),
            ("POST", "rollback"),
        ):
            reply = other.request(method, f"/v1/sandboxes/{sandbox}/{tail}", json={} if method == "POST" else None)
            assert error(reply, 404) == "not_found", (method, tail)
    assert [s["id"] for s in api.get(f"/v1/sandboxes/{sandbox}/snapshots").json()["snapshots"]] == [taken["id"]]


def test_a_fork_diverges_without_touching_its_parent(api: httpx.Client) -> None:
    parent = create(api, env={"COLOUR": "blue"})
    exec_ok(api, parent, "open('shared.txt', 'w').write('v1')", context=None)
    taken = snap(api, parent)
    exec_ok(api, parent, "open('shared.txt', 'w').write('v2')", context=None)

    reply = api.post(f"/v1/sandboxes/{parent}/snapshots/{taken['id']}/fork")
    assert reply.status_code == 201, reply.text
    child = reply.json()["id"]
    assert child != parent
    assert reply.json()["status"] == "running"
    check = "import os; print(open('shared.txt').read(), os.environ['COLOUR'])"
    assert exec_ok(api, child, check, context=None)["stdout"] == "v1 blue\n"

    exec_ok(api, child, "open('shared.txt', 'w').write('child'); open('mine.txt', 'w').write('x')", context=None)
    assert files_of(api, parent)["./shared.txt"] == "v2"
    assert "./mine.txt" not in files_of(api, parent)
    assert api.delete(f"/v1/sandboxes/{child}").status_code == 204
    assert exec_ok(api, parent, "print(open('shared.txt').read())")["stdout"] == "v2\n"


def test_a_failed_exec_is_rolled_back_and_the_history_says_so(api: httpx.Client) -> None:
    sandbox = create(api, snapshot_policy=ROLLBACK)
    assert api.get(f"/v1/sandboxes/{sandbox}").json()["snapshot_policy"]["auto_rollback_on_failure"]
    exec_ok(api, sandbox, "open('keep.txt', 'w').write('precious')", agent_id="writer")
    before = files_of(api, sandbox)

    failed = exec_ok(
        api,
        sandbox,
        "import os; os.remove('keep.txt'); open('junk.txt', 'w').write('x'); raise SystemExit(3)",
        agent_id="vandal",
        context=None,
    )
    assert failed["exit_code"] == 3
    assert failed["rolled_back_to"] == failed["snapshots"][0]
    assert files_of(api, sandbox) == before

    records = api.get("/v1/executions", params={"sandbox_id": sandbox, "agent_id": "vandal"}).json()["executions"]
    assert len(records) == 1
    assert (records[0]["status"], records[0]["rolled_back_to"]) == ("error", failed["rolled_back_to"])
    assert records[0]["snapshots"] == failed["snapshots"]
    assert records[0]["id"] == failed["execution_id"]


def test_rollback_to_the_last_success_of_an_agent(api: httpx.Client) -> None:
    sandbox = create(api, snapshot_policy={"snapshot_before_exec": True})
    exec_ok(api, sandbox, "open('log.txt', 'a').write('a1 ')", agent_id="a", context=None)
    exec_ok(api, sandbox, "open('log.txt', 'a').write('b1 ')", agent_id="b", context=None)
    exec_ok(api, sandbox, "open('log.txt', 'a').write('a2 ')", agent_id="a", context=None)
    exec_ok(api, sandbox, "open('log.txt', 'a').write('b2 '); raise SystemExit(1)", agent_id="b", context=None)

    reply = api.post(f"/v1/sandboxes/{sandbox}/rollback", json={"agent_id": "b"})
    assert reply.status_code == 200, reply.text
    assert exec_ok(api, sandbox, "print(open('log.txt').read())")["stdout"] == "a1 b1 \n"
    reply = api.post(f"/v1/sandboxes/{sandbox}/rollback", json={"agent_id": "nobody"})
    assert error(reply, 404) == "snapshot_not_found"


def test_the_policy_can_be_changed_and_is_checked(api: httpx.Client) -> None:
    sandbox = create(api)
    assert api.get(f"/v1/sandboxes/{sandbox}").json()["snapshot_policy"] == {
        "snapshot_before_exec": False,
        "snapshot_on_failure": False,
        "auto_rollback_on_failure": False,
    }
    reply = api.put(f"/v1/sandboxes/{sandbox}/snapshot-policy", json={"snapshot_on_failure": True})
    assert reply.status_code == 200, reply.text
    assert reply.json()["snapshot_policy"]["snapshot_on_failure"]
    failed = exec_ok(api, sandbox, "raise SystemExit(2)", context=None)
    assert len(failed["snapshots"]) == 1
    assert failed["rolled_back_to"] is None

    bad = api.put(f"/v1/sandboxes/{sandbox}/snapshot-policy", json={"snapshot_sometimes": True})
    assert error(bad, 422) == "validation_error"
    assert error(api.post("/v1/sandboxes", json={"snapshot_policy": {"x": 1}}), 422) == "validation_error"
    assert error(api.post(f"/v1/sandboxes/{sandbox}/snapshots", json={"name": ""}), 422) == "validation_error"


def test_a_restore_that_fails_part_way_quarantines_the_sandbox(server: LiveServer, api: httpx.Client) -> None:
    sandbox = create(api)
    taken = snap(api, sandbox)
    exec_ok(api, sandbox, "open('stuck.txt', 'w').write('x')", context=None)
    stuck = server.sandbox_root / sandbox / "workspace" / "stuck.txt"
    with immutable(stuck):
        failed = api.post(f"/v1/sandboxes/{sandbox}/snapshots/{taken['id']}/restore")
        assert error(failed, 409) == "snapshot_failed"
        view = api.get(f"/v1/sandboxes/{sandbox}").json()
        assert view["quarantined"]
        assert "part way" in view["quarantined"]
        refused = api.post(f"/v1/sandboxes/{sandbox}/exec", json={"code": "print(1)"})
        assert error(refused, 409) == "invalid_state"
        assert "quarantined" in refused.json()["error"]["message"]
    reply = api.post(f"/v1/sandboxes/{sandbox}/snapshots/{taken['id']}/restore")
    assert reply.status_code == 200, reply.text
    assert reply.json()["sandbox"]["quarantined"] is None
    assert exec_ok(api, sandbox, "import os; print(os.path.exists('stuck.txt'))")["stdout"] == "False\n"


def test_history_filters_by_time(api: httpx.Client) -> None:
    sandbox = create(api)
    first = exec_ok(api, sandbox, "print('early')")
    records = api.get("/v1/executions", params={"sandbox_id": sandbox}).json()["executions"]
    middle = records[0]["finished_at"]
    second = exec_ok(api, sandbox, "print('late')")
    since = api.get("/v1/executions", params={"sandbox_id": sandbox, "since": middle}).json()["executions"]
    until = api.get("/v1/executions", params={"sandbox_id": sandbox, "until": middle}).json()["executions"]
    assert [r["id"] for r in since] == [second["execution_id"]]
    assert [r["id"] for r in until] == [first["execution_id"]]
    assert since[0]["code"] == "print('late')"
    assert len(since[0]["code_sha256"]) == 64


# -- SDK and CLI ---------------------------------------------------------------------------------------
async def test_the_sdk_has_every_snapshot_operation(server: LiveServer, namespace_backend: str) -> None:
    policy = SnapshotPolicy(auto_rollback_on_failure=True)
    async with AsyncClient(server.url, server.key("alice")) as client, client.sandbox(snapshot_policy=policy) as sb:
        assert sb.policy.auto_rollback_on_failure
        await sb.exec("open('a.txt', 'w').write('1')", agent_id="sdk")
        taken = await sb.snapshot("mine", pinned=True)
        assert [s.id for s in await sb.list_snapshots()][-1] == taken.id
        assert (await sb.get_snapshot(taken.id)).name == "mine"

        failed = await sb.exec("open('a.txt', 'w').write('2'); raise SystemExit(1)", context=None)
        assert failed.rolled_back_to is not None
        assert (await sb.read_file("a.txt")) == b"1"

        await sb.set_policy(SnapshotPolicy())
        assert not sb.policy.auto_rollback_on_failure
        await sb.write_file("a.txt", "3")
        assert (await sb.restore(taken.id)).id == taken.id
        assert (await sb.read_file("a.txt")) == b"1"

        fork = await sb.fork(taken.id)
        try:
            assert (await fork.read_file("a.txt")) == b"1"
        finally:
            await fork.destroy()
        assert (await sb.rollback_to_last_success("sdk")).meta["after"]["agent_id"] == "sdk"
        await sb.delete_snapshot(taken.id)
        with pytest.raises(SnapshotNotFound):
            await sb.restore(taken.id)


def test_the_blocking_client_forks_into_a_blocking_sandbox(server: LiveServer, namespace_backend: str) -> None:
    with Client(server.url, server.key("alice")) as client, client.sandbox() as sb:
        sb.write_file("x.txt", "forked")
        fork = sb.fork(sb.snapshot().id)
        try:
            assert fork.read_file("x.txt") == b"forked"  # blocking: no await
        finally:
            fork.destroy()


def test_the_cli_takes_restores_forks_and_rolls_back(server: LiveServer, namespace_backend: str) -> None:
    env = {"AIRLOCK_API_KEY": server.key("alice")}
    sandbox = ok(server.cli("sandbox", "create", "-q", env=env)).strip()
    ok(server.cli("files", "put", "-s", sandbox, "-", "a.txt", input="one", env=env))
    taken = ok(server.cli("snapshot", "create", sandbox, "--name", "cli", "--pin", env=env)).strip()
    listing = ok(server.cli("snapshot", "list", sandbox, env=env))
    assert taken in listing
    assert "cli (pinned)" in listing
    assert "files" in listing

    ok(server.cli("files", "put", "-s", sandbox, "-", "a.txt", input="two", env=env))
    assert ok(server.cli("snapshot", "restore", sandbox, taken, env=env)).strip() == taken
    assert ok(server.cli("files", "get", "-s", sandbox, "a.txt", env=env)) == "one"

    fork = ok(server.cli("snapshot", "fork", sandbox, taken, env=env)).strip()
    assert ok(server.cli("files", "get", "-s", fork, "a.txt", env=env)) == "one"
    ok(server.cli("sandbox", "delete", fork, env=env))

    policy = json.loads(ok(server.cli("snapshot", "policy", sandbox, "--auto-rollback", "--json", env=env)))
    assert policy["auto_rollback_on_failure"]
    assert not policy["snapshot_before_exec"]
    missing = server.cli("snapshot", "restore", sandbox, "0" * 26, check=False, env=env)
    assert "no snapshot" in one_line_error(missing, EXIT_REFUSED)
    nobody = server.cli("snapshot", "rollback", sandbox, "--agent", "nobody", check=False, env=env)
    assert nobody.returncode == EXIT_REFUSED

    ok(server.cli("sandbox", "exec", sandbox, "--agent", "cli", "-c", "print('hello')", env=env))
    shown = json.loads(ok(server.cli("history", "--sandbox", sandbox, "--since", "10m", "--json", env=env)))
    assert [(r["agent_id"], r["code"]) for r in shown] == [("cli", "print('hello')")]
    assert json.loads(ok(server.cli("history", "--sandbox", sandbox, "--until", "10m", "--json", env=env))) == []
    bad = server.cli("history", "--since", "yesterday-ish", check=False, env=env)
    assert bad.returncode == 2
    assert "ISO 8601" in bad.stderr


# -- a restart --------------------------------------------------------------------------------------
def test_policy_quarantine_snapshots_and_history_survive_a_restart(
    server_factory: Callable[[], LiveServer], namespace_backend: str
) -> None:
    server = server_factory()
    server.start()
    with http(server) as api:
        guarded = create(api, snapshot_policy=ROLLBACK)
        exec_ok(api, guarded, "open('kept.txt', 'w').write('kept')", agent_id="a")
        failed = exec_ok(api, guarded, "import os; os.remove('kept.txt'); raise SystemExit(1)", agent_id="a")
        taken = snap(api, guarded, name="survivor")
        broken = create(api)
        broken_snap = snap(api, broken)
        exec_ok(api, broken, "open('stuck.txt', 'w').write('x')")
        stuck = server.sandbox_root / broken / "workspace" / "stuck.txt"
        with immutable(stuck):
            error(api.post(f"/v1/sandboxes/{broken}/snapshots/{broken_snap['id']}/restore"), 409)
        history = api.get("/v1/executions").json()

    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    server.start()
    with http(server) as api:
        assert api.get("/v1/executions").json() == history
        record = next(r for r in history["executions"] if r["id"] == failed["execution_id"])
        assert record["rolled_back_to"] == failed["rolled_back_to"]
        assert record["snapshots"]

        view = api.get(f"/v1/sandboxes/{guarded}").json()
        assert view["snapshot_policy"] == ROLLBACK
        assert taken["id"] in [s["id"] for s in api.get(f"/v1/sandboxes/{guarded}/snapshots").json()["snapshots"]]
        assert api.post(f"/v1/sandboxes/{guarded}/start").status_code == 200
        again = exec_ok(api, guarded, "open('kept.txt', 'w').write('gone'); raise SystemExit(1)", context=None)
        assert again["rolled_back_to"] is not None
        assert exec_ok(api, guarded, "print(open('kept.txt').read())")["stdout"] == "kept\n"

        assert api.get(f"/v1/sandboxes/{broken}").json()["quarantined"]
        assert api.post(f"/v1/sandboxes/{broken}/start").json()["status"] == "running"
        refused = api.post(f"/v1/sandboxes/{broken}/exec", json={"code": "print(1)"})
        assert error(refused, 409) == "invalid_state"
        assert "quarantined" in refused.json()["error"]["message"]
        restored = api.post(f"/v1/sandboxes/{broken}/snapshots/{broken_snap['id']}/restore")
        assert restored.status_code == 200, restored.text
        assert restored.json()["sandbox"]["quarantined"] is None
        assert exec_ok(api, broken, "import os; print(os.listdir('.'))")["stdout"] == "[]\n"

        for sandbox in (guarded, broken):
            assert api.delete(f"/v1/sandboxes/{sandbox}").status_code == 204
        assert not list((server.home / "snapshots" / "sandboxes").glob(f"{guarded}*"))


async def test_a_quarantined_remote_sandbox_raises_like_a_local_one(server: LiveServer, namespace_backend: str) -> None:
    async with AsyncClient(server.url, server.key("alice")) as client, client.sandbox() as sb:
        taken = await sb.snapshot()
        await sb.write_file("stuck.txt", "x")
        stuck = server.sandbox_root / sb.id / "workspace" / "stuck.txt"
        with immutable(stuck):
            with pytest.raises(SnapshotError, match="part way"):
                await sb.restore(taken.id)
            with pytest.raises(SandboxStateError, match="quarantined"):
                await sb.exec("print(1)")
            assert (await sb.refresh()).quarantined
        await sb.restore(taken.id)
        assert sb.quarantined is None
