"""Shared fixtures: settings in a private home, a runtime per backend the host can run, a sandbox
factory that tracks what it creates, and a check after every test that no sandbox process and no
sandbox cgroup is left behind."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airlock import Runtime, Sandbox, Settings
from airlock.backends import Backend, create_backend
from airlock.backends.cgroups import probe as probe_cgroups

BACKEND_NAMES = ("process", "namespace")
MARKER = b"AIRLOCK_SANDBOX_ID="
#: Every sandbox this test session created: the leftover checks look only at these, so Airlock
#: runs of other sessions on the same host cannot fail this one.
CREATED: set[str] = set()


@pytest.fixture(scope="session", autouse=True)
def record_sandbox_ids() -> Iterator[None]:
    original = Backend.create

    async def create(self: Backend, sandbox_id: str, *args: Any, **kwargs: Any) -> Any:
        CREATED.add(sandbox_id)
        return await original(self, sandbox_id, *args, **kwargs)

    Backend.create = create  # type: ignore[method-assign]
    yield
    Backend.create = original  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def sandbox_root() -> Iterator[Path]:
    """Workspaces for this test session. Sandbox uids must be able to reach it, so not in /tmp/pytest-*."""
    base = Path("/var/tmp") if os.geteuid() == 0 else Path(tempfile.gettempdir())
    root = Path(tempfile.mkdtemp(prefix="airlock-tests-", dir=base))
    root.chmod(0o711)
    yield root
    # Sandboxes a test left stopped or lost (a server's, by design) keep their /tmp mounted.
    for mount in mounts_under(root):
        subprocess.run(["umount", "--lazy", mount], check=False)
    shutil.rmtree(root, ignore_errors=True)


def mounts_under(root: Path) -> list[str]:
    """The mount points below ``root``, deepest first."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(f"{root}/"):
            found.append(point)
    return sorted(found, key=len, reverse=True)


@pytest.fixture
def settings(tmp_path: Path, sandbox_root: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings isolated from the user's own: a fresh home, no config file, this session's root."""
    monkeypatch.setenv("AIRLOCK_CONFIG", str(tmp_path / "no-config.toml"))
    return Settings(home=tmp_path / "home", sandbox_root=sandbox_root)


def _skip_reason(name: str, settings: Settings) -> str | None:
    availability = create_backend(name, settings).availability(deep=True)
    if availability.ok:
        return None
    return f"backend {name!r} cannot run here: {availability.reason} ({availability.hint})"


@pytest.fixture(params=BACKEND_NAMES)
def backend_name(request: pytest.FixtureRequest, settings: Settings) -> str:
    name: str = request.param
    reason = _skip_reason(name, settings)
    if reason:
        pytest.skip(reason)
    return name


@pytest.fixture
def namespace_backend(settings: Settings) -> str:
    reason = _skip_reason("namespace", settings)
    if reason:
        pytest.skip(reason)
    return "namespace"


@pytest.fixture
async def runtime(settings: Settings, backend_name: str) -> AsyncIterator[Runtime]:
    async with Runtime(settings.model_copy(update={"backend": backend_name})) as rt:
        yield rt


@pytest.fixture
async def ns_runtime(settings: Settings, namespace_backend: str) -> AsyncIterator[Runtime]:
    async with Runtime(settings.model_copy(update={"backend": namespace_backend})) as rt:
        yield rt


SandboxFactory = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
async def make_sandbox(runtime: Runtime) -> AsyncIterator[SandboxFactory]:
    """Create started sandboxes; every one is destroyed at teardown, whatever the test did."""
    created: list[Sandbox] = []

    async def factory(**kwargs: Any) -> Sandbox:
        sandbox = await runtime.create_sandbox(**kwargs)
        created.append(sandbox)
        return sandbox

    yield factory
    for sandbox in created:
        await sandbox.destroy()


@pytest.fixture
async def sandbox(make_sandbox: SandboxFactory) -> Sandbox:
    return await make_sandbox(language="python")


def _sandbox_of(environ: bytes) -> str | None:
    for entry in environ.split(b"\0"):
        if entry.startswith(MARKER):
            return entry[len(MARKER) :].decode(errors="replace")
    return None


def sandbox_processes() -> list[str]:
    """Every process on the host that belongs to a sandbox of this session (it carries the marker)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{name}/environ").read_bytes()
            if _sandbox_of(environ) in CREATED:
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ")
                found.append(f"{name}: {cmdline.decode(errors='replace')[:120]}")
        except OSError:
            continue
    return found


def sandbox_cgroups() -> list[str]:
    support = probe_cgroups()
    return [
        str(child)
        for parent in support.parents.values()
        for child in parent.glob("airlock-*")
        if child.name.removeprefix("airlock-") in CREATED
    ]


@pytest.fixture(autouse=True)
def no_sandbox_left_behind() -> Iterator[None]:
    """After every test, no sandbox process and no sandbox cgroup remains."""
    yield
    deadline = time.monotonic() + 5
    while (sandbox_processes() or sandbox_cgroups()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox_processes() == [], "sandbox processes outlived their test"
    assert sandbox_cgroups() == [], "sandbox cgroups outlived their test"


# -- a real server on loopback ---------------------------------------------------------------------
@dataclass
class LiveServer:
    """``airlock serve`` in a subprocess on a free loopback port, with its own home and sandbox root."""

    home: Path
    sandbox_root: Path
    env: dict[str, str]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run ``airlock ARGS`` against this server's home and URL."""
        env = {**self.env, "AIRLOCK_URL": self.url, **kwargs.pop("env", {})}
        return subprocess.run(
            [sys.executable, "-m", "airlock", *args],
            env=env,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
            **kwargs,
        )

    def key(self, tenant: str) -> str:
        """An API key of ``tenant`` (made once per server)."""
        if tenant not in self.keys:
            self.keys[tenant] = self.cli("keys", "create", "--name", tenant).stdout.strip()
        return self.keys[tenant]

    def start(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        with open(self.home / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "airlock", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.home / "server.log").read_text()
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("the server did not become ready")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=60)
        self.process = None
        return code

    def sandbox_ids(self) -> set[str]:
        with sqlite3.connect(self.home / "airlock.db") as db:
            return {row[0] for row in db.execute("SELECT id FROM sandboxes")}


def _server_env(home: Path, root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIRLOCK_HOME": str(home),
        "AIRLOCK_SANDBOX_ROOT": str(root),
        "AIRLOCK_CONFIG": str(home / "no-config.toml"),
        "AIRLOCK_SERVER__SHUTDOWN_GRACE_S": "3",
    }


@contextmanager
def module_server(home: Path, sandbox_root: Path) -> Iterator[LiveServer]:
    """A started server for a whole test module (each server prewarms sandboxes; ``server_factory``
    makes one per test), stopped at the end with its sandboxes accounted for."""
    server = LiveServer(home, sandbox_root, _server_env(home, sandbox_root))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        CREATED.update(server.sandbox_ids())


@pytest.fixture
def server_factory(tmp_path: Path, sandbox_root: Path) -> Iterator[Callable[[], LiveServer]]:
    """Make (not start) servers; all are stopped at teardown, and none may leave a sandbox process."""
    made: list[LiveServer] = []

    def factory() -> LiveServer:
        home = tmp_path / f"server-{len(made)}"
        home.mkdir()
        server = LiveServer(home, sandbox_root, _server_env(home, sandbox_root))
        made.append(server)
        return server

    yield factory
    for server in made:
        if server.process is not None:
            server.stop()
        CREATED.update(server.sandbox_ids() if (server.home / "airlock.db").exists() else ())


@pytest.fixture
def live_server(server_factory: Callable[[], LiveServer]) -> LiveServer:
    server = server_factory()
    server.start()
    return server
