"""Escape attempts against the ``namespace`` backend: every one must fail.

Each test attacks one isolation promise from inside a real bubblewrap sandbox and asserts that the
promise held. The sandbox reports every attempt it made (``label => blocked EPERM`` or
``label => ESCAPED ...``), and the tests check that the attempts they expect were made, so none can
pass because nothing ran.

The policy engine would refuse most of these attacks before they reached a sandbox; here it runs in
``audit`` mode (it judges and records, never denies), so that the sandbox is tested on its own: each
layer holds without the other.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from textwrap import dedent

import pytest

from airlock import PathOutsideWorkspace, Runtime, Sandbox, SandboxLimits, Settings
from airlock.backends.cgroups import probe as probe_cgroups
from airlock.policy import PolicyConfig


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The conftest's settings, with the policy judging but not denying (see the module's docstring)."""
    return settings.model_copy(update={"policy": PolicyConfig(mode="audit")})


LIMITS = SandboxLimits(memory_mb=128, pids=64, tmpfs_mb=16, spill_bytes=8 << 20)
MiB = 1 << 20
AGENT_CMDLINE = "import main; main.main()"  # the agent, and the Python processes it forks

ATTEMPT = '''
import errno, json, os, socket

def attempt(label, action):
    """Make one escape attempt and report how it went."""
    try:
        value = action()
    except OSError as exc:
        print(f"{label} => blocked {errno.errorcode.get(exc.errno, exc)}", flush=True)
    else:
        print(f"{label} => ESCAPED {value!r:.80}", flush=True)
'''

LIST_PROCESSES = """
import json, os
procs = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            procs[pid] = cmdline.read().replace(b"\\0", b" ").decode(errors="replace")
    except OSError:
        pass
print(json.dumps({"me": os.getpid(), "procs": procs}))
"""


# -- helpers ----------------------------------------------------------------------------------------
def open_sandbox(runtime: Runtime) -> AbstractAsyncContextManager[Sandbox]:
    """A started Python sandbox with small limits, destroyed on exit."""
    return runtime.sandbox(language="python", limits=LIMITS)


async def attempts(sb: Sandbox, body: str, **names: object) -> dict[str, str]:
    """Run ``body`` (fresh Python, with ``attempt(label, action)`` and ``names`` defined); label -> outcome."""
    preamble = "".join(f"{name} = {value!r}\n" for name, value in names.items())
    result = await sb.exec(ATTEMPT + preamble + dedent(body), context=None)
    assert result.exit_code == 0, result.text
    outcomes = dict(line.split(" => ", 1) for line in result.stdout.splitlines() if " => " in line)
    assert outcomes, f"no attempt was made: {result.text}"
    return outcomes


def escaped(outcomes: dict[str, str]) -> dict[str, str]:
    return {label: outcome for label, outcome in outcomes.items() if not outcome.startswith("blocked")}


async def sandbox_processes(sb: Sandbox) -> tuple[int, dict[str, str]]:
    """The pid of the probe and every process the sandbox can see (pid -> cmdline), as seen inside."""
    result = await sb.exec(LIST_PROCESSES, context=None)
    listing = json.loads(result.stdout)
    return listing["me"], listing["procs"]


async def stray_processes(sb: Sandbox) -> list[str]:
    """Processes in the sandbox other than the agent, its forks and the probe that lists them."""
    me, procs = await sandbox_processes(sb)
    return [cmd for pid, cmd in procs.items() if int(pid) != me and AGENT_CMDLINE not in cmd]


async def assert_alive(sb: Sandbox) -> None:
    """The sandbox still runs code, in a fresh process and in its REPL."""
    for context in (None, "default"):
        result = await sb.exec("print('alive')", context=context, timeout_ms=10_000)
        assert result.stdout == "alive\n", (context, result)


def host_processes(sandbox_id: str) -> dict[int, str]:
    """pid -> /proc status of every host process of the sandbox: its cgroups' members and its marked ones."""
    pids: set[int] = set()
    for parent in probe_cgroups().parents.values():
        procs = parent / f"airlock-{sandbox_id}" / "cgroup.procs"
        if procs.exists():
            pids.update(int(pid) for pid in procs.read_text().split())
    marker = f"AIRLOCK_SANDBOX_ID={sandbox_id}".encode()
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker in Path(f"/proc/{name}/environ").read_bytes().split(b"\0"):
                pids.add(int(name))
        except OSError:
            continue
    found = {}
    for pid in pids:
        try:
            found[pid] = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
    return found


def status_field(status: str, key: str) -> list[str]:
    return next(line.split(":", 1)[1].split() for line in status.splitlines() if line.startswith(f"{key}:"))


def host_address() -> str | None:
    """This host's address on its default route, if it has one (nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address: str = probe.getsockname()[0]
        return address


def file_size(path: Path) -> int:
    return path.stat().st_size


def host_exists(path: str) -> bool:
    return Path(path).exists()


@pytest.fixture
def host_secrets(tmp_path: Path, sandbox_root: Path) -> Iterator[tuple[str, list[str]]]:
    """A token in two host files: one any uid could read (/var/tmp), one only root can; and their paths."""
    token = f"airlock-secret-{secrets.token_hex(8)}"
    world = sandbox_root.parent / f"{token}.txt"
    world.write_text(token)
    world.chmod(0o644)
    private = tmp_path / "root-only" / "secret.txt"
    private.parent.mkdir(mode=0o700)
    private.write_text(token)
    private.chmod(0o600)
    try:
        yield token, [str(world), str(private)]
    finally:
        world.unlink()


# -- 1. network -------------------------------------------------------------------------------------
@asynccontextmanager
async def host_listeners() -> AsyncIterator[tuple[int, str, list[object], socket.socket]]:
    """A TCP server on every host address and an abstract unix socket; yields what connected to them."""
    connections: list[object] = []

    def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer.get_extra_info("peername"))
        writer.close()

    server = await asyncio.start_server(accept, "0.0.0.0", 0)
    abstract = f"\0airlock-escape-{secrets.token_hex(4)}"
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(abstract)
    unix.listen()
    unix.setblocking(False)
    try:
        yield server.sockets[0].getsockname()[1], abstract, connections, unix
    finally:
        unix.close()
        server.close()
        await server.wait_closed()


async def test_network_egress_to_the_host_fails(ns_runtime: Runtime) -> None:
    addresses = ["127.0.0.1", *filter(None, [host_address()])]
    async with host_listeners() as (port, abstract, connections, unix), open_sandbox(ns_runtime) as sb:
        outcomes = await attempts(
            sb,
            """
            for address in ADDRESSES:
                attempt(f"python tcp {address}", lambda: socket.create_connection((address, PORT), 2).getpeername())
            attempt("abstract unix socket", lambda: socket.socket(socket.AF_UNIX).connect(ABSTRACT))
            """,
            ADDRESSES=addresses,
            PORT=port,
            ABSTRACT=abstract,
        )
        script = f"""for a in {" ".join(addresses)}; do
            if (: <>/dev/tcp/$a/{port}) 2>/dev/null; then outcome=ESCAPED; else outcome=blocked; fi
            echo "bash tcp $a => $outcome"
        done"""
        bash = await sb.run_command(["bash", "-c", script], timeout_ms=10_000)
        await asyncio.sleep(0.2)
        assert set(outcomes) == {*(f"python tcp {a}" for a in addresses), "abstract unix socket"}
        assert escaped(outcomes) == {}
        assert bash.stdout.count("=> blocked") == len(addresses), bash.text
        assert connections == []
        with pytest.raises(BlockingIOError):
            unix.accept()
        _, writer = await asyncio.open_connection("127.0.0.1", port)  # the listener did work, for the host
        writer.close()
        await asyncio.sleep(0.1)
        assert len(connections) == 1


async def test_the_only_network_interface_is_loopback(ns_runtime: Runtime) -> None:
    async with open_sandbox(ns_runtime) as sb:
        code = "import json, socket\nprint(json.dumps([n for _, n in socket.if_nameindex()]))"
        result = await sb.exec(f"{code}\nprint(open('/proc/net/dev').read())", context=None)
    names, _, dev = result.stdout.partition("\n")
    assert json.loads(names) == ["lo"]
    assert [line.split(":")[0].strip() for line in dev.splitlines() if ":" in line] == ["lo"]


# -- 2. reading what is not the sandbox's -------------------------------------------------------------
async def test_host_files_cannot_be_read(ns_runtime: Runtime, host_secrets: tuple[str, list[str]]) -> None:
    token, paths = host_secrets
    async with open_sandbox(ns_runtime) as sb:
        own_log = str(Path(sb.workspace_path).parent / "agent.log")  # the sandbox's own host directory
        files = [path for path in [*paths, own_log, "/etc/shadow", "/root/.bashrc"] if host_exists(path)]
        dirs = [str(Path(paths[0]).parent), str(Path(sb.workspace_path).parent), "/root"]
        outcomes = await attempts(
            sb,
            """
            for path in FILES:
                attempt(f"read {path}", lambda: open(path).read())
            for path in DIRS:
                attempt(f"list {path}", lambda: os.listdir(path))
            """,
            FILES=files,
            DIRS=dirs,
        )
    assert set(outcomes) == {*(f"read {p}" for p in files), *(f"list {p}" for p in dirs)}
    assert escaped(outcomes) == {}
    assert token not in json.dumps(list(outcomes.values()))


async def test_another_sandboxs_workspace_cannot_be_read(ns_runtime: Runtime) -> None:
    token = f"airlock-secret-{secrets.token_hex(8)}"
    async with open_sandbox(ns_runtime) as victim, open_sandbox(ns_runtime) as attacker:
        await victim.write_file("secret.txt", token)
        assert (Path(victim.workspace_path) / "secret.txt").read_text() == token
        outcomes = await attempts(
            attacker,
            """
            attempt("host path", lambda: open(f"{VICTIM}/secret.txt").read())
            attempt("list host path", lambda: os.listdir(VICTIM))
            for pid in filter(str.isdigit, os.listdir("/proc")):
                for way in ("root", "cwd"):
                    attempt(f"/proc/{pid}/{way}", lambda: open(f"/proc/{pid}/{way}/secret.txt").read())
                    host_path = f"/proc/{pid}/{way}{VICTIM}/secret.txt"
                    attempt(f"/proc/{pid}/{way} host path", lambda: open(host_path).read())
            """,
            VICTIM=victim.workspace_path,
        )
    assert "host path" in outcomes
    assert "/proc/1/root" in outcomes
    assert escaped(outcomes) == {}
    assert token not in json.dumps(list(outcomes.values()))


async def test_host_environment_does_not_leak(ns_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    token = f"airlock-secret-{secrets.token_hex(8)}"
    monkeypatch.setenv("AIRLOCK_TEST_SECRET", token)
    async with open_sandbox(ns_runtime) as sb:
        fresh = await sb.exec("import os; print(dict(os.environ))", context=None)
        repl = await sb.exec("import os; print(dict(os.environ))")
        bash = await sb.run_command(["bash", "-c", "env; tr '\\0' '\\n' < /proc/1/environ"])
    for result in (fresh, repl, bash):
        assert "AIRLOCK_SANDBOX_ID" in result.stdout, result.text  # the environment was printed
        assert "AIRLOCK_TEST_SECRET" not in result.stdout
        assert token not in result.stdout


# -- 3. writing outside the workspace ---------------------------------------------------------------
OUTSIDE_WORKSPACE = {
    "usr": "/usr/airlock-escape",
    "etc": "/etc/airlock-escape",
    "root-dir": "/airlock-escape",
    "etc-passwd": "/etc/passwd",
    "core-pattern": "/proc/sys/kernel/core_pattern",
    "sysrq-trigger": "/proc/sysrq-trigger",
    "own-host-dir": "{host_dir}/airlock-escape",
}


@pytest.mark.parametrize("target", OUTSIDE_WORKSPACE.values(), ids=OUTSIDE_WORKSPACE.keys())
async def test_writing_outside_the_workspace_fails(ns_runtime: Runtime, target: str) -> None:
    async with open_sandbox(ns_runtime) as sb:
        path = target.format(host_dir=Path(sb.workspace_path).parent)
        existed = host_exists(path)
        outcomes = await attempts(sb, 'attempt(f"write {PATH}", lambda: open(PATH, "a").write("x"))', PATH=path)
    assert set(outcomes) == {f"write {path}"}
    assert escaped(outcomes) == {}
    assert existed or not host_exists(path)


async def test_tmp_is_private_to_the_sandbox(ns_runtime: Runtime) -> None:
    name = f"airlock-escape-{secrets.token_hex(8)}"
    host_file = Path("/tmp") / f"{name}-host"
    host_file.write_text("the host's")
    try:
        async with open_sandbox(ns_runtime) as sb:
            code = f"""
                open("/tmp/{name}", "w").write("the sandbox's")
                print(open("/tmp/{name}").read())
                attempt("read the host's /tmp", lambda: open("/tmp/{name}-host").read())
            """
            result = await sb.exec(ATTEMPT + dedent(code), context=None)
            assert not host_exists(f"/tmp/{name}")
    finally:
        host_file.unlink()
    assert result.stdout.startswith("the sandbox's\n"), result.text
    assert "read the host's /tmp => blocked ENOENT" in result.stdout


async def test_the_workspace_is_the_one_place_writes_reach_the_host(ns_runtime: Runtime) -> None:
    token = secrets.token_hex(8)
    async with open_sandbox(ns_runtime) as sb:
        result = await sb.exec(f"open('/workspace/out.txt', 'w').write({token!r})", context=None)
        assert result.exit_code == 0, result.text
        assert (Path(sb.workspace_path) / "out.txt").read_text() == token


# -- 4. host processes -----------------------------------------------------------------------------
async def test_host_processes_are_invisible(ns_runtime: Runtime) -> None:
    async with open_sandbox(ns_runtime) as sb:
        me, procs = await sandbox_processes(sb)
    assert str(me) in procs  # the listing saw at least the process that made it
    assert len(procs) <= 3, procs  # the agent and the probe (perhaps bwrap's init)
    assert not [cmd for cmd in procs.values() if "pytest" in cmd]
    assert all(AGENT_CMDLINE in cmd for cmd in procs.values()), procs  # the probe is a fork of the agent


# -- 5. privilege ----------------------------------------------------------------------------------
async def test_sandbox_code_has_no_privilege(ns_runtime: Runtime) -> None:
    code = """
        import json, os
        def status(pid):
            fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
            keys = ("Uid", "Gid", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs")
            return {key: fields[key].split() for key in keys}
        print(json.dumps({"code": status("self"), "agent": status(1)}))
    """
    async with open_sandbox(ns_runtime) as sb:
        result = await sb.exec(dedent(code), context=None)
    for who, status in json.loads(result.stdout).items():
        assert status["Uid"] == status["Gid"] == ["1000"] * 4, who
        assert all(int(status[cap][0], 16) == 0 for cap in ("CapPrm", "CapEff", "CapBnd", "CapAmb")), (who, status)
        assert status["NoNewPrivs"] == ["1"], who


@pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes get their own host uid only when Airlock runs as root")
async def test_sandbox_processes_run_as_an_unprivileged_host_uid(ns_runtime: Runtime) -> None:
    async with open_sandbox(ns_runtime) as sb:
        await sb.exec("import time; time.sleep(0.01)")  # a REPL worker too
        statuses = host_processes(sb.id)
    assert len(statuses) >= 2, "found no process of the sandbox on the host"  # bwrap and the agent at least
    for pid, status in statuses.items():
        uids, gids = status_field(status, "Uid"), status_field(status, "Gid")
        assert "0" not in uids + gids, (pid, uids, gids)
        assert status_field(status, "Groups") == [], pid


async def test_namespaces_mounts_and_root_are_out_of_reach(ns_runtime: Runtime) -> None:
    code = """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)

        def call(name, *args):
            if getattr(libc, name)(*args) != 0:
                raise OSError(ctypes.get_errno(), name)
            return "succeeded"

        for flag, what in ((0x10000000, "user"), (0x20000, "mount"), (0x40000000, "net"), (0x20000000, "pid")):
            attempt(f"unshare {what}", lambda: call("unshare", flag))
        attempt("mount tmpfs", lambda: call("mount", b"none", b"/workspace", b"tmpfs", 0, None))
        attempt("remount /usr rw", lambda: call("mount", None, b"/usr", None, 32 | 4096, None))  # MS_REMOUNT|MS_BIND
        attempt("setuid 0", lambda: os.setuid(0))
        attempt("chroot", lambda: os.chroot("/tmp"))
    """
    async with open_sandbox(ns_runtime) as sb:
        outcomes = await attempts(sb, code)
        unshare = await sb.run_command(["unshare", "-U", "true"])
        mount = await sb.run_command(["mount", "-t", "tmpfs", "none", "/workspace"])
    assert len(outcomes) == 8
    assert escaped(outcomes) == {}
    for result in (unshare, mount):
        assert result.exit_code != 0, result
        assert result.stderr, result


async def test_there_is_no_terminal_to_inject_keystrokes_into(ns_runtime: Runtime) -> None:
    code = """
        import fcntl, termios

        def open_tty(flags):
            fd = os.open("/dev/tty", flags)
            try:
                if not os.isatty(fd):
                    raise OSError(errno.ENOTTY, "not a terminal")
                fcntl.ioctl(fd, termios.TIOCSTI, b"x")
                return "injected"
            finally:
                os.close(fd)

        attempt("/dev/tty read-write", lambda: open_tty(os.O_RDWR))
        attempt("/dev/tty read-only", lambda: open_tty(os.O_RDONLY))
        for fd in (0, 1, 2):
            attempt(f"TIOCSTI on fd {fd}", lambda: fcntl.ioctl(fd, termios.TIOCSTI, b"x"))
    """
    async with open_sandbox(ns_runtime) as sb:
        outcomes = await attempts(sb, code)
    assert len(outcomes) == 5
    assert escaped(outcomes) == {}


LIMIT_FILES = {"memory": "memory.limit_in_bytes", "pids": "pids.max", "cpu": "cpu.cfs_quota_us", "": "pids.max"}


async def test_cgroup_limits_are_out_of_reach(ns_runtime: Runtime) -> None:
    support = probe_cgroups()
    if not support.usable:
        pytest.skip(f"no cgroups here: {support.reason}")
    async with open_sandbox(ns_runtime) as sb:
        own = {controller: parent / f"airlock-{sb.id}" for controller, parent in support.parents.items()}
        limits = [str(own[c] / LIMIT_FILES[c]) for c in own]
        targets = limits + [str(parent / "cgroup.procs") for parent in support.parents.values()]
        outcomes = await attempts(
            sb,
            """
            attempt("list /sys/fs/cgroup", lambda: os.listdir("/sys/fs/cgroup"))
            for path in TARGETS:
                attempt(f"write {path}", lambda: open(path, "w").write("max"))
            """,
            TARGETS=targets,
        )
        pids_max = (own.get("pids") or own[""]) / "pids.max"
        assert pids_max.read_text().strip() == str(LIMITS.pids)
    assert len(outcomes) == 1 + len(targets)
    assert escaped(outcomes) == {}


async def test_cpu_is_throttled_to_the_limit(ns_runtime: Runtime) -> None:
    """A busy loop in a sandbox capped at a tenth of a CPU gets throttled by the kernel."""
    support = probe_cgroups()
    if not support.usable:
        pytest.skip(f"no cgroups here: {support.reason}")
    async with ns_runtime.sandbox(language="python", limits=SandboxLimits(cpus=0.1)) as sb:
        cpu = support.parents.get("cpu") or support.parents[""]
        stat = cpu / f"airlock-{sb.id}" / "cpu.stat"
        quota = stat.with_name("cpu.cfs_quota_us" if "cpu" in support.parents else "cpu.max").read_text().split()[0]
        result = await sb.exec(
            "import time\nend = time.monotonic() + 0.5\nwhile time.monotonic() < end: pass\nprint('spun')"
        )
        throttled = dict(line.split() for line in stat.read_text().splitlines())["nr_throttled"]
    assert result.stdout == "spun\n"
    assert quota == "10000"
    assert int(throttled) > 0


# -- 6. fork bombs ---------------------------------------------------------------------------------
FORK_BOMBS = {
    "classic": ":(){ :|:& };: ; sleep 60",  # the sleep keeps the exec running until its timeout
    "endless": "b() { while :; do b & done; }; b",
}


@pytest.mark.slow
@pytest.mark.parametrize("bomb", FORK_BOMBS.values(), ids=FORK_BOMBS.keys())
async def test_fork_bomb_is_contained_and_killed(ns_runtime: Runtime, bomb: str) -> None:
    async with open_sandbox(ns_runtime) as sb:
        started = time.monotonic()
        result = await sb.run_command(["bash", "-c", bomb], timeout_ms=3000)
        elapsed = time.monotonic() - started
        assert "fork" in result.stderr, result.text  # it ran into the pids limit
        assert result.timed_out, result
        assert not result.sandbox_died
        assert elapsed < 3 + ns_runtime.settings.timeout_grace_s
        assert await stray_processes(sb) == []
        await assert_alive(sb)
    host = await asyncio.create_subprocess_exec("true")
    assert await host.wait() == 0


async def test_exhausted_pids_still_give_a_result(ns_runtime: Runtime) -> None:
    """Leftover processes hold every pid: the sandbox still answers, and a failed fork is a result."""
    code = """
        import os, time
        count = 0
        while True:
            try:
                pid = os.fork()
            except BlockingIOError:
                break
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            count += 1
        print("forked", count)
    """
    async with open_sandbox(ns_runtime) as sb:
        await sb.exec("print('ready')")  # start the default REPL before the pids run out
        bomb = await sb.exec(dedent(code), context="hog")  # a REPL: its worker lives on, holding its pid too
        assert bomb.stdout.startswith("forked"), bomb.text
        repl = await sb.exec("print('alive')")
        assert repl.stdout == "alive\n", repl
        fresh = await sb.exec("print('alive')", context=None)
        assert fresh.stdout == "alive\n" or fresh.error is not None, fresh


# -- 7. memory bombs -------------------------------------------------------------------------------
MEMORY_BOMB = """
chunks = []
for i in range(30):
    chunks.append(b"x" * (50 << 20))
    print("allocated", (i + 1) * 50, "MB", flush=True)
print("the limit did not hold")
"""


@pytest.mark.slow
@pytest.mark.parametrize("context", [None, "default"], ids=["fresh", "repl"])
async def test_memory_bomb_is_killed_and_the_sandbox_survives(ns_runtime: Runtime, context: str | None) -> None:
    async with open_sandbox(ns_runtime) as sb:
        result = await sb.exec(MEMORY_BOMB, context=context, timeout_ms=30_000)
        assert "allocated 50 MB" in result.stdout, result.text
        assert "did not hold" not in result.stdout
        assert result.oom_killed, result
        assert result.exit_code != 0
        assert result.error is not None
        assert result.error.name == "OutOfMemory"
        assert not result.sandbox_died
        await assert_alive(sb)


# -- 8. runaway output -----------------------------------------------------------------------------
@pytest.mark.slow
async def test_a_flood_of_output_is_capped(ns_runtime: Runtime) -> None:
    total = 100 * MiB
    code = "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(chunk)\n"
    async with open_sandbox(ns_runtime) as sb:
        result = await sb.exec(code, context=None, timeout_ms=60_000)
        assert result.exit_code == 0, result.stderr
        assert len(result.stdout) == ns_runtime.settings.max_output_bytes
        assert result.output_truncated
        assert result.metadata["stdout_bytes"] == total
        assert result.output_file_path is not None
        spilled = await sb.read_file(result.output_file_path)
        assert len(spilled) == LIMITS.spill_bytes
        assert result.metadata["dropped_bytes"] == total - LIMITS.spill_bytes > 0
        await assert_alive(sb)


# -- 9. detached processes -------------------------------------------------------------------------
DETACHERS = {
    "python-fork": (
        "python",
        """
        import os, subprocess, time
        subprocess.Popen(["sleep", "411"], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                while True:
                    with open("/workspace/heartbeat", "a") as beat:
                        beat.write(".")
                    time.sleep(0.1)
            os._exit(0)
        print("detached", flush=True)
        time.sleep(60)
        """,
    ),
    "bash-setsid": (
        "bash",
        """
        setsid sleep 411 &
        ( setsid bash -c 'while :; do printf . >> /workspace/heartbeat; sleep 0.1; done' & )
        echo detached
        sleep 60
        """,
    ),
    "bash-clean-env": (
        "bash",
        """
        setsid env -i /usr/bin/sleep 411 &
        ( setsid env -i /bin/bash -c 'while :; do printf . >> /workspace/heartbeat; /usr/bin/sleep 0.1; done' & )
        echo detached
        sleep 60
        """,
    ),
}


@pytest.mark.parametrize(("language", "code"), DETACHERS.values(), ids=DETACHERS.keys())
async def test_detached_processes_die_at_the_timeout(ns_runtime: Runtime, language: str, code: str) -> None:
    async with open_sandbox(ns_runtime) as sb:
        result = await sb.exec(dedent(code), language=language, context=None, timeout_ms=1000)
        assert result.timed_out, result
        assert result.stdout == "detached\n"
        heartbeat = Path(sb.workspace_path) / "heartbeat"
        assert file_size(heartbeat) > 0  # the daemon did run
        before = file_size(heartbeat)
        await asyncio.sleep(0.5)
        assert file_size(heartbeat) == before, "a detached process outlived the timeout"
        assert await stray_processes(sb) == []


# -- 10. disk --------------------------------------------------------------------------------------
FILL = """
import errno
written = 0
try:
    with open(PATH, "wb") as file:
        while True:
            file.write(b"x" * (1 << 20))
            written += 1
except OSError as exc:
    print("stopped by", errno.errorcode.get(exc.errno), "after", written, "MB")
"""


@pytest.mark.parametrize("directory", ["/tmp", "/dev/shm"])
async def test_in_memory_scratch_space_is_capped(ns_runtime: Runtime, directory: str) -> None:
    name = f"airlock-fill-{secrets.token_hex(8)}"
    async with open_sandbox(ns_runtime) as sb:
        result = await sb.exec(f"PATH = '{directory}/{name}'\n{FILL}", context=None, timeout_ms=30_000)
        assert result.stdout.startswith("stopped by ENOSPC after"), result
        assert int(result.stdout.split()[-2]) <= LIMITS.tmpfs_mb
        assert not result.oom_killed
        assert not host_exists(f"{directory}/{name}")
        await assert_alive(sb)


# -- 11. symlinks ----------------------------------------------------------------------------------
async def test_file_api_refuses_symlinks_out_of_the_workspace(
    ns_runtime: Runtime, host_secrets: tuple[str, list[str]]
) -> None:
    token, paths = host_secrets
    links = {"passwd": "/etc/passwd", "secret": paths[0], "root": "/", "proc-root": "/proc/1/root"}
    async with open_sandbox(ns_runtime) as sb:
        script = " && ".join(f"ln -s {target} /workspace/{name}" for name, target in links.items())
        planted = await sb.run_command(["bash", "-c", f"{script} && ls /workspace"])
        assert planted.stdout.split() == sorted(links), planted.text
        (Path(sb.workspace_path) / "planted-by-host").symlink_to(paths[1])
        for path in [*links, "planted-by-host", "root/etc/passwd", "../../etc/passwd", "/etc/passwd", paths[0]]:
            with pytest.raises(PathOutsideWorkspace):
                await sb.read_file(path)
        with pytest.raises(PathOutsideWorkspace):
            await sb.list_files("root")
        with pytest.raises(PathOutsideWorkspace):
            await sb.write_file("root/tmp/escaped", token)
