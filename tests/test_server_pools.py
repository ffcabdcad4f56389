"""Warm pools through the server: the ``default`` pool ``airlock serve`` prewarms, sandboxes and runs
taken from pools (and what a run leaves for the next: nothing), pools managed with admin keys over
REST, the SDK and the CLI, their metrics, and the pools a server's settings declare.

Most tests share one server (each server prewarms sandboxes); they leave its pools as they found them."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from airlock import AsyncClient, AuthenticationError, ConfigError, PoolConfig, PoolExhausted, PoolNotFound, Template
from airlock.cli_remote import EXIT_REFUSED
from conftest import LiveServer, module_server
from server_api import create, error, exec_ok, http, wait_for_no_processes
from test_cli_remote import ok, one_line_error
from test_server import metrics

BOOT_PHASES = ("spawn", "agent_ready", "first_exec")
#: Leaves files in the workspace and /tmp and a process running; LOOK_FOR_TRACES prints what of them
#: and of $TRACE it sees.
LEAVE_TRACES = """
import subprocess
open('trace.txt', 'w').write('left')
open('/tmp/trace.txt', 'w').write('left')
subprocess.Popen(['sleep', '300'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
"""
LOOK_FOR_TRACES = """
import os
def sleeping():
    found = 0
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            found += open(f'/proc/{pid}/cmdline', 'rb').read().startswith(b'sleep')
        except OSError:
            pass
    return found
print(os.path.exists('trace.txt'), os.path.exists('/tmp/trace.txt'), sleeping(), os.environ.get('TRACE'))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sandbox_root: Path) -> Iterator[LiveServer]:
    with module_server(tmp_path_factory.mktemp("pools-server"), sandbox_root) as server:
        yield server


def admin_key(server: LiveServer) -> str:
    """An admin key of ``server`` (made once; ``http(server, "root")`` sends it)."""
    if "root" not in server.keys:
        server.keys["root"] = server.cli("keys", "create", "--name", "root", "--admin").stdout.strip()
    return server.keys["root"]


@pytest.fixture
def api(server: LiveServer, namespace_backend: str) -> Iterator[httpx.Client]:
    """Tenant alice (no admin key); her sandboxes are deleted after the test."""
    with http(server, "alice") as client:
        yield client
        for sandbox in client.get("/v1/sandboxes").json()["sandboxes"]:
            client.delete(f"/v1/sandboxes/{sandbox['id']}")


@pytest.fixture
def admin_api(server: LiveServer, namespace_backend: str) -> Iterator[httpx.Client]:
    admin_key(server)
    with http(server, "root") as client:
        yield client


@pytest.fixture
def make_pool(admin_api: httpx.Client) -> Iterator[Callable[..., dict[str, Any]]]:
    """Declare a pool with the admin key: ``make_pool("js", {"language": "javascript"}, target_idle=1)``;
    every one is deleted after the test."""
    made: list[str] = []

    def make(name: str, template: dict[str, Any] | None = None, **config: Any) -> dict[str, Any]:
        reply = admin_api.post("/v1/pools", json={"template": {"name": name, **(template or {})}, **config})
        assert reply.status_code == 201, reply.text
        made.append(name)
        info: dict[str, Any] = reply.json()
        return info

    yield make
    for name in made:
        admin_api.delete(f"/v1/pools/{name}")


def stats(api: httpx.Client, pool: str = "default") -> dict[str, Any]:
    reply = api.get(f"/v1/pools/{pool}")
    assert reply.status_code == 200, reply.text
    assert reply.json()["name"] == pool
    found: dict[str, Any] = reply.json()["stats"]
    return found


def settled(api: httpx.Client, pool: str = "default", **wanted: int) -> dict[str, Any]:
    """The pool's stats once they show ``wanted`` (or as they are after 30 s; the caller asserts)."""
    deadline = time.monotonic() + 30
    while True:
        found = stats(api, pool)
        if all(found[k] == v for k, v in wanted.items()) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def pool_names(api: httpx.Client) -> list[str]:
    reply = api.get("/v1/pools")
    assert reply.status_code == 200, reply.text
    return [pool["name"] for pool in reply.json()["pools"]]


def run(api: httpx.Client, code: str, **body: Any) -> dict[str, Any]:
    reply = api.post("/v1/run", json={"code": code, **body})
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


# -- the default pool -------------------------------------------------------------------------------
def test_a_server_prewarms_a_default_pool_of_python_sandboxes(api: httpx.Client) -> None:
    default = api.get("/v1/pools").json()["pools"][0]
    found = settled(api, idle=2)

    assert default["name"] == "default"
    assert default["config"]["template"]["backend"] == "namespace"
    assert default["config"]["template"]["language"] == "python"
    assert default["config"]["target_idle"] == 2
    assert (found["backend"], found["language"], found["idle"]) == ("namespace", "python", 2)
    assert {phase: found["boot"][phase]["count"] >= 2 for phase in BOOT_PHASES} == dict.fromkeys(BOOT_PHASES, True)


def test_a_sandbox_is_taken_from_the_default_pool_and_never_given_back(api: httpx.Client) -> None:
    before = settled(api, idle=2, creating=0)
    sandbox_id = create(api)
    taken = stats(api)
    printed = exec_ok(api, sandbox_id, "print('warm')")["stdout"]
    refilled = settled(api, idle=2, creating=0)
    deleted = api.delete(f"/v1/sandboxes/{sandbox_id}")

    assert (taken["acquired"], taken["cold_starts"]) == (before["acquired"] + 1, before["cold_starts"])
    assert taken["leased"] == 0  # handed over: the tenant's now, not the pool's
    assert printed == "warm\n"
    assert refilled["idle"] == 2
    assert deleted.status_code == 204
    assert wait_for_no_processes({sandbox_id}) == []
    assert create(api) != sandbox_id


# -- runs -------------------------------------------------------------------------------------------
def test_runs_go_through_the_default_pool(api: httpx.Client) -> None:
    before = settled(api, creating=0, resetting=0)
    printed = [run(api, f"print({n})")["stdout"] for n in range(2)]

    assert printed == ["0\n", "1\n"]
    assert stats(api)["acquired"] == before["acquired"] + 2
    assert "auto-namespace-python" not in pool_names(api)


def test_the_next_run_in_the_same_sandbox_finds_nothing_of_the_last(
    api: httpx.Client, make_pool: Callable[..., dict[str, Any]]
) -> None:
    make_pool("one", target_idle=1, max_size=1)  # one sandbox: the second run surely gets the first's
    settled(api, "one", idle=1)
    first = run(api, LEAVE_TRACES + LOOK_FOR_TRACES, pool="one", env={"TRACE": "set"})
    settled(api, "one", idle=1, resetting=0)
    second = run(api, LOOK_FOR_TRACES, pool="one")

    assert first["stdout"] == "True True 1 set\n", first
    assert second["sandbox_id"] == first["sandbox_id"]
    assert second["stdout"] == "False False 0 None\n", second


# -- managing pools ---------------------------------------------------------------------------------
def test_only_an_admin_key_creates_and_deletes_pools(api: httpx.Client, admin_api: httpx.Client) -> None:
    body = {"template": {"name": "managed"}, "target_idle": 1, "max_size": 2}
    assert error(api.post("/v1/pools", json=body), 403) == "forbidden"
    assert "managed" not in pool_names(api)

    created = admin_api.post("/v1/pools", json=body)
    assert created.status_code == 201, created.text
    assert (created.json()["name"], created.json()["config"]["max_size"]) == ("managed", 2)
    assert settled(api, "managed", idle=1)["idle"] == 1
    assert error(admin_api.post("/v1/pools", json=body), 409) == "pool_exists"
    for backend in ("process", "no-such-backend"):
        refused = admin_api.post("/v1/pools", json={"template": {"name": "other", "backend": backend}})
        assert error(refused, 422) == "backend_not_allowed"
    assert "other" not in pool_names(api)

    used = run(api, "print(1)", pool="managed")["sandbox_id"]
    settled(api, "managed", resetting=0)
    assert error(api.delete("/v1/pools/managed"), 403) == "forbidden"
    assert "managed" in pool_names(api)
    assert admin_api.delete("/v1/pools/managed").status_code == 204
    assert error(api.get("/v1/pools/managed"), 404) == "pool_not_found"
    assert "managed" not in pool_names(api)
    assert wait_for_no_processes({used}) == []  # its idle sandboxes are destroyed with it


def test_a_sandbox_of_a_named_pool_has_the_pools_language(
    api: httpx.Client, admin_api: httpx.Client, make_pool: Callable[..., dict[str, Any]]
) -> None:
    make_pool("js", {"language": "javascript"}, target_idle=1, max_size=2)
    created = api.post("/v1/sandboxes", json={"pool": "js"})
    assert created.status_code == 201, created.text
    sandbox_id = created.json()["id"]

    assert created.json()["language"] == "javascript"
    assert exec_ok(api, sandbox_id, "console.log(6 * 7)")["stdout"] == "42\n"
    assert stats(api, "js")["acquired"] == 1
    limited = api.post("/v1/sandboxes", json={"pool": "js", "limits": {"memory_mb": 256}})
    assert error(limited, 422) == "invalid_request"
    assert error(api.post("/v1/sandboxes", json={"pool": "js", "language": "python"}), 422) == "invalid_request"
    assert error(api.post("/v1/sandboxes", json={"pool": "no-such-pool"}), 404) == "pool_not_found"
    assert [s["id"] for s in api.get("/v1/sandboxes").json()["sandboxes"]] == [sandbox_id]
    assert admin_api.delete("/v1/pools/js").status_code == 204
    assert exec_ok(api, sandbox_id, "console.log('kept')")["stdout"] == "kept\n"  # handed over: not the pool's


def test_a_run_in_a_named_pool_uses_the_pools_language(
    api: httpx.Client, make_pool: Callable[..., dict[str, Any]]
) -> None:
    make_pool("js-runs", {"language": "javascript"}, target_idle=0, max_size=1)
    ran = run(api, "console.log(6 * 7)", pool="js-runs")

    assert (ran["language"], ran["stdout"]) == ("javascript", "42\n"), ran


def test_a_drained_pool_that_may_not_create_answers_503(
    api: httpx.Client, make_pool: Callable[..., dict[str, Any]]
) -> None:
    make_pool("drained", target_idle=0, max_size=1, when_empty="wait_then_fail", wait_s=0)
    before = api.get("/v1/sandboxes").json()
    refused = api.post("/v1/run", json={"code": "print(1)", "pool": "drained"})
    refused_create = api.post("/v1/sandboxes", json={"pool": "drained"})

    assert error(refused, 503) == "pool_exhausted"
    assert int(refused.headers["Retry-After"]) >= 1
    assert error(refused_create, 503) == "pool_exhausted"
    assert api.get("/v1/sandboxes").json() == before
    found = stats(api, "drained")
    assert (found["exhausted"], found["acquired"], found["idle"], found["leased"]) == (2, 0, 0, 0)


def test_metrics_show_the_boot_phases_and_the_pools(server: LiveServer, api: httpx.Client) -> None:
    found = settled(api, idle=2, creating=0, resetting=0)
    samples = metrics(server)

    assert samples['airlock_sandbox_boot_phase_seconds_count{phase="spawn",pool="default"}'] >= 2
    assert samples['airlock_sandbox_boot_phase_seconds_count{phase="first_exec",pool="default"}'] >= 2
    assert samples['airlock_pool_sandboxes{pool="default",state="idle"}'] == found["idle"] == 2
    assert samples['airlock_pool_acquired_total{pool="default"}'] == found["acquired"]


# -- SDK and CLI ------------------------------------------------------------------------------------
@pytest.fixture
def keys(server: LiveServer, namespace_backend: str) -> tuple[str, str]:
    """Alice's key and an admin key."""
    return server.key("alice"), admin_key(server)


async def test_the_sdk_manages_and_uses_pools(server: LiveServer, keys: tuple[str, str]) -> None:
    config = PoolConfig(template=Template(name="sdk"), target_idle=0, max_size=1, when_empty="wait_then_fail", wait_s=0)
    async with AsyncClient(server.url, keys[0]) as alice, AsyncClient(server.url, keys[1]) as admin:
        assert "default" in [pool.name for pool in await alice.pools()]
        with pytest.raises(AuthenticationError):
            await alice.create_pool(config)
        with pytest.raises(PoolNotFound):
            await alice.pool("sdk")
        created = await admin.create_pool(config)
        with pytest.raises(ConfigError):
            await admin.create_pool(config)
        with pytest.raises(PoolExhausted):
            await alice.run("print(1)", pool="sdk")
        seen = await alice.pool("sdk")
        async with alice.sandbox(pool="default") as sandbox:
            printed = (await sandbox.exec("print(2)")).stdout
        ran = await alice.run("print(3)", pool="default")
        await admin.delete_pool("sdk")
        with pytest.raises(PoolNotFound):
            await alice.pool("sdk")

    assert (created.name, created.config.max_size, created.config.when_empty) == ("sdk", 1, "wait_then_fail")
    assert (seen.stats.exhausted, seen.stats.acquired) == (1, 0)
    assert (printed, ran.stdout) == ("2\n", "3\n")


def test_the_cli_shows_creates_and_deletes_pools(server: LiveServer, keys: tuple[str, str]) -> None:
    def cli(key: str, *args: str) -> subprocess.CompletedProcess[str]:
        return server.cli(*args, check=False, env={"AIRLOCK_API_KEY": key})

    alice, root = keys
    table = ok(cli(alice, "pool", "stats")).splitlines()
    shown = json.loads(ok(cli(alice, "pool", "stats", "default", "--json")))
    refused = one_line_error(cli(alice, "pool", "create", "cli", "--target-idle", "1", "--max-size", "2"), EXIT_REFUSED)
    after_refusal = [pool["name"] for pool in json.loads(ok(cli(alice, "pool", "stats", "--json")))]
    created = json.loads(ok(cli(root, "pool", "create", "cli", "--target-idle", "1", "--max-size", "2", "--json")))
    sandbox_id = ok(cli(alice, "sandbox", "create", "--pool", "cli", "-q")).strip()
    status = json.loads(ok(cli(alice, "sandbox", "status", sandbox_id, "--json")))
    deleted = cli(root, "pool", "delete", "cli")
    gone = one_line_error(cli(alice, "pool", "stats", "cli"), EXIT_REFUSED)

    assert table[0].split()[:4] == ["POOL", "BACKEND", "LANGUAGE", "STRATEGY"]
    assert ["default", "namespace", "python"] in [line.split()[:3] for line in table[1:]]
    assert [pool["name"] for pool in shown] == ["default"]
    assert isinstance(shown[0]["stats"]["idle"], int)
    assert "admin" in refused
    assert "cli" not in after_refusal
    assert (created["name"], created["config"]["target_idle"]) == ("cli", 1)
    assert (status["status"], status["language"]) == ("running", "python")
    assert (deleted.returncode, deleted.stderr) == (0, "")
    assert "cli" in gone


# -- pools the settings declare ---------------------------------------------------------------------
def test_a_declared_pool_that_fits_stands_in_for_default(
    server_factory: Callable[[], LiveServer], namespace_backend: str
) -> None:
    server = server_factory()
    config = server.home / "config.toml"
    config.write_text('[[pools]]\ntarget_idle = 1\nmax_size = 2\ntemplate = { name = "warm" }\n')
    server.env["AIRLOCK_CONFIG"] = str(config)
    server.start()
    with http(server) as api:
        names = pool_names(api)
        warmed = settled(api, "warm", idle=1)
        ran = run(api, "print('in warm')")
        after = stats(api, "warm")
        names_after = pool_names(api)
        settled(api, "warm", resetting=0)
    server.stop()

    assert names == names_after == ["warm"]
    assert (warmed["backend"], warmed["language"], warmed["idle"]) == ("namespace", "python", 1)
    assert ran["stdout"] == "in warm\n"
    assert after["acquired"] == 1
    assert wait_for_no_processes({ran["sandbox_id"]}) == []  # a stopped server leaves no pooled sandbox


def test_without_prewarm_a_run_makes_a_pool_on_demand(
    server_factory: Callable[[], LiveServer], namespace_backend: str
) -> None:
    server = server_factory()
    server.env["AIRLOCK_SERVER__PREWARM"] = "0"
    server.start()
    with http(server) as api:
        before = api.get("/v1/pools").json()
        ran = run(api, "print('cold')")
        auto = stats(api, "auto-namespace-python")
        names = pool_names(api)

    assert before == {"pools": []}
    assert ran["stdout"] == "cold\n"
    assert names == ["auto-namespace-python"]
    assert (auto["target_idle"], auto["acquired"], auto["cold_starts"]) == (0, 1, 1)
