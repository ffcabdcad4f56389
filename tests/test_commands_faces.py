"""Markdown commands through their faces: ``airlock commands`` in a subprocess, and the REST API of a
real server on loopback (which also reloads its command folders when a file changes)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import LiveServer, module_server
from server_api import error, http

FIXTURES = Path(__file__).parent / "command_fixtures"

MINE = """---
name: mine
description: A command of the user's own
aliases: [my]
execution_mode: sandbox
parameters:
  - {name: code, type: number, default: 0}
---
```bash
echo "mine ran"
exit {{code}}
```
"""
WIPE = """---
name: wipe
description: Claims to be harmless
risk_level: low
execution_mode: local
---
```bash
rm -rf /
```
"""
RELEASE = """---
name: release
description: Ship the build
knowledge_graph_required: [production]
parameters:
  - {name: env, required: true}
---
```bash
echo "released to {{env}}"
```
"""
ADMIN = """---
name: admin-only
description: Needs a permission no role here holds
permissions: [read, admin]
---
```bash
echo "ran as admin"
```
"""
#: The settings of the CLI and the server: the default role holds read and execute, not admin.
CONFIG = """[policy.roles.default]
permissions = ["read", "execute"]
"""
BROKEN = """---
name: broken
description: d
timeout: never
---
```bash
echo
```
"""


def user_commands(home: Path) -> Path:
    folder = home / "commands"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("mine.md", MINE),
        ("wipe.md", WIPE),
        ("release.md", RELEASE),
        ("broken.md", BROKEN),
        ("admin.md", ADMIN),
    ):
        (folder / name).write_text(text)
    shutil.copy(FIXTURES / "firecracker.md", folder / "vm.md")
    return folder


# -- the CLI -------------------------------------------------------------------------------------------------
@pytest.fixture
def cli(tmp_path: Path, sandbox_root: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    home = tmp_path / "home"
    user_commands(home)
    (tmp_path / "config.toml").write_text(CONFIG)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "AIRLOCK_HOME": str(home),
        "AIRLOCK_CONFIG": str(tmp_path / "config.toml"),
        "AIRLOCK_SANDBOX_ROOT": str(sandbox_root),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "airlock", "commands", *args], env=env, capture_output=True, text=True, timeout=120
        )

    return run


def test_cli_list_and_show(cli: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    listing = cli("list")
    assert listing.returncode == 0, listing.stderr
    names = [line.split()[0] for line in listing.stdout.splitlines()]
    assert names == [
        "admin-only",
        "backup",
        "deploy",
        "hello-world",
        "mine",
        "release",
        "search",
        "security-audit",
        "test",
        "vm-deploy",
        "wipe",
    ]
    assert "1 command files have problems" in listing.stderr
    as_json = json.loads(cli("list", "--json").stdout)
    assert {c["name"] for c in as_json} >= {"hello-world", "mine"}
    shown = cli("show", "hi")
    assert shown.returncode == 0
    assert shown.stdout.startswith("hello-world 1.0.0: Simple hello world command for testing\n")
    assert '  --param greeting: string, optional = "hello"  Greeting type\n' in shown.stdout
    assert json.loads(cli("show", "my", "--json").stdout)["execution_mode"] == "sandbox"
    missing = cli("show", "helo-world")
    assert missing.returncode == 2
    assert missing.stderr.endswith("airlock: no command 'helo-world'; did you mean hello-world?\n")


def test_cli_validate(cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    everything = cli("validate")
    assert everything.returncode == 1
    broken = tmp_path / "home" / "commands" / "broken.md"
    assert (
        everything.stdout
        == f"{broken}:4: timeout: Input should be a valid number, unable to parse string as a number\n"
    )
    good = cli("validate", str(FIXTURES / "firecracker.md"), str(tmp_path / "home" / "commands" / "mine.md"))
    assert (good.returncode, good.stdout) == (0, "")
    assert "2 commands load; 0 files have problems" in good.stderr


def test_cli_run(cli: Callable[..., subprocess.CompletedProcess[str]], namespace_backend: str) -> None:
    hello = cli("run", "hello", "--param", "name=$(id)")
    assert (hello.returncode, hello.stdout) == (0, "hello, $(id)!\n"), hello.stderr
    exit_code = cli("run", "mine", "--param", "code=3")
    assert (exit_code.returncode, exit_code.stdout) == (3, "mine ran\n")
    as_json = json.loads(cli("run", "my", "--json").stdout)
    assert (as_json["stdout"], as_json["verdict"]["isolation"], as_json["metadata"]["command"]) == (
        "mine ran\n",
        "namespace",
        "mine",
    )
    bad = cli("run", "hello", "--param", "greeting=yo")
    assert bad.returncode == 2
    assert "is not one of its allowed values" in bad.stderr
    untyped = cli("run", "mine", "--param", "code=three")
    assert untyped.returncode == 2
    assert "is a number" in untyped.stderr
    denied = cli("run", "wipe")
    assert denied.returncode == 126
    assert "denied by the policy (critical risk)" in denied.stderr
    vm = cli("run", "vm-deploy", "--param", "environment=staging")
    assert vm.returncode == 125
    assert "no microVM backend" in vm.stderr
    concepts = cli("run", "release", "--param", "env=staging")
    assert concepts.returncode == 2
    assert "Missing required concepts: production" in concepts.stderr
    assert "Required concept 'production': say one of" in concepts.stderr  # the validator's feedback
    escalated = cli("run", "release", "--param", "env=staging", "--attempt", "3")
    assert "User intervention required" in escalated.stderr
    assert cli("run", "release", "--param", "env=production").stdout == "released to production\n"
    intended = cli("run", "release", "--param", "env=staging", "--intent", "ship it to production later")
    assert intended.stdout == "released to staging\n", intended.stderr
    assert cli("run", "release", "--attempt", "two", "--param", "env=x").returncode == 2
    admin = cli("run", "admin-only")
    assert admin.returncode == 126
    assert "admin-only needs admin; role 'default' holds read, execute" in admin.stderr


# -- REST ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sandbox_root: Path) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("commands-server")
    user_commands(home)
    (home / "no-config.toml").write_text(CONFIG)  # the file the test servers read their settings from
    with module_server(home, sandbox_root) as server:
        yield server


@pytest.fixture
def api(server: LiveServer, namespace_backend: str) -> Iterator[httpx.Client]:
    with http(server) as client:
        yield client


def test_rest_lists_and_shows_commands(server: LiveServer, api: httpx.Client) -> None:
    listing = api.get("/v1/commands")
    assert listing.status_code == 200, listing.text
    assert "mine" in [c["name"] for c in listing.json()["commands"]]
    assert listing.json()["problems"] == []  # the files that do not load: for admin keys
    admin_key = server.cli("keys", "create", "--name", "root", "--admin").stdout.strip()
    problems = api.get("/v1/commands", headers={"Authorization": f"Bearer {admin_key}"}).json()["problems"]
    assert [p.split(": ")[0].rsplit("/", 1)[-1] for p in problems] == ["broken.md:4"]
    shown = api.get("/v1/commands/hi")
    assert (shown.status_code, shown.json()["name"], shown.json()["language"]) == (200, "hello-world", "bash")
    missing = api.get("/v1/commands/helo-world")
    assert error(missing, 404) == "command_not_found"
    assert missing.json()["error"]["details"]["suggestions"] == ["hello-world"]
    assert api.get("/v1/commands", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_rest_runs_a_command(api: httpx.Client) -> None:
    reply = api.post("/v1/commands/hello/run", json={"params": {"name": "`id`; $(id)"}, "agent_id": "a1"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["stdout"], body["exit_code"]) == ("hello, `id`; $(id)!\n", 0)
    assert body["execution_id"]
    assert body["verdict"]["audit_id"]
    assert body["verdict"]["isolation"] == "namespace"  # local, with parameters: where the policy routes it
    history = api.get("/v1/executions", params={"agent_id": "a1"}).json()["executions"]
    assert [(e["id"], e["language"]) for e in history] == [(body["execution_id"], "bash")]
    assert "{{name}}" in history[0]["code"]  # the script; the values were in its environment


def test_rest_refusals(api: httpx.Client) -> None:
    bad = api.post("/v1/commands/mine/run", json={"params": {"code": "3"}})
    assert error(bad, 422) == "invalid_parameters"
    assert "not a number" in bad.json()["error"]["message"]
    assert error(api.post("/v1/commands/mine/run", json={"params": {}, "extra": 1}), 422) == "validation_error"
    denied = api.post("/v1/commands/wipe/run", json={})
    assert error(denied, 403) == "policy_denied"
    assert denied.json()["error"]["details"]["verdict"]["risk"] == "critical"
    concepts = api.post("/v1/commands/release/run", json={"params": {"env": "staging"}})
    assert error(concepts, 422) == "concepts_missing"
    details = concepts.json()["error"]["details"]
    assert details["missing"] == ["production"]
    assert "Required concept 'production'" in details["feedback"]
    assert (details["retry"], details["escalate"]) == (True, False)
    last = api.post("/v1/commands/release/run", json={"params": {"env": "staging"}, "attempt": 3})
    assert (last.json()["error"]["details"]["retry"], last.json()["error"]["details"]["escalate"]) == (False, True)
    intended = api.post("/v1/commands/release/run", json={"params": {"env": "qa"}, "intent": "ship to production"})
    assert intended.json()["stdout"] == "released to qa\n", intended.text
    assert error(api.post("/v1/commands/release/run", json={"attempt": -1}), 422) == "validation_error"
    admin = api.post("/v1/commands/admin-only/run", json={})
    assert error(admin, 403) == "policy_denied"
    assert [r["pattern"] for r in admin.json()["error"]["details"]["verdict"]["reasons"]] == ["policy.permissions"]
    vm = api.post("/v1/commands/vm-deploy/run", json={"params": {"environment": "staging"}})
    assert error(vm, 503) == "backend_unavailable"
    assert "no microVM backend" in vm.json()["error"]["message"]


def test_the_server_reloads_its_command_folders(server: LiveServer, api: httpx.Client) -> None:
    path = server.home / "commands" / "fresh.md"

    def wait_for(status: int, description: str | None = None) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            reply = api.get("/v1/commands/fresh")
            if reply.status_code == status and (description is None or reply.json()["description"] == description):
                return
            time.sleep(0.1)
        raise AssertionError(f"the server did not reload: {reply.status_code} {reply.text}")

    path.write_text(MINE.replace("name: mine", "name: fresh").replace("aliases: [my]", "aliases: []"))
    wait_for(200, "A command of the user's own")
    assert api.post("/v1/commands/fresh/run", json={}).json()["stdout"] == "mine ran\n"
    path.write_text(
        MINE.replace("name: mine", "name: fresh").replace("aliases: [my]", "aliases: []").replace("own", "own, v2")
    )
    wait_for(200, "A command of the user's own, v2")
    path.write_text("---\nname: fresh\n")  # broken: the last good version stays
    time.sleep(1)
    assert api.get("/v1/commands/fresh").json()["description"] == "A command of the user's own, v2"
    path.unlink()
    wait_for(404)
