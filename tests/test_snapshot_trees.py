"""Snapshots of everything a sandbox can write: its workspace, its /tmp and its own /usr/local, where
software it installs goes. A package installed with pip survives snapshot and restore, a fork gets it,
/tmp stays capped however the sandbox got there, and no host mount outlives its sandbox.

The /tmp and /usr/local parts are the ``namespace`` backend's (the ``process`` backend's /tmp is the
host's, not the sandbox's); /tmp in snapshots needs Airlock to run as root, which can mount it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from airlock import Runtime, Sandbox, SandboxLimits, SandboxStartError, Settings
from airlock.backends.base import OWNER_FILE
from airlock.backends.namespace import NamespaceEnvironment

MiB = 1 << 20
LIMITS = SandboxLimits(tmpfs_mb=8)
PACKAGE = "airlock_probe"
WHEEL = f"/tmp/{PACKAGE}-1.0-py3-none-any.whl"

#: Fills a file until the filesystem refuses; prints how it stopped and after how many MiB.
FILL = """
import errno
written = 0
try:
    with open(PATH, 'wb') as file:
        while True:
            file.write(b'x' * (1 << 20))
            file.flush()
            written += 1
except OSError as exc:
    print('stopped by', errno.errorcode.get(exc.errno), 'after', written, 'MiB')
"""


@pytest.fixture
def tmp_runtime(ns_runtime: Runtime) -> Runtime:
    """The namespace backend where /tmp is a host tmpfs (Airlock runs as root)."""
    if os.geteuid() != 0:
        pytest.skip("without root Airlock cannot mount /tmp on the host: it is bwrap's own and not in snapshots")
    return ns_runtime


@pytest.fixture
async def sandbox_with_tmp(tmp_runtime: Runtime) -> AsyncIterator[Sandbox]:
    sandbox = await tmp_runtime.create_sandbox(limits=LIMITS)
    try:
        yield sandbox
    finally:
        await sandbox.destroy()


def env_of(sandbox: Sandbox) -> NamespaceEnvironment:
    environment = sandbox._env
    assert isinstance(environment, NamespaceEnvironment)
    return environment


def wheel(name: str = PACKAGE, version: str = "1.0") -> bytes:
    """A minimal pure-Python wheel holding ``mod.py``."""
    dist = f"{name}-{version}.dist-info"
    files = {
        "mod.py": b"VALUE = 42\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: airlock-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(data)}\n")
    files[f"{dist}/RECORD"] = ("".join(lines) + f"{dist}/RECORD,,\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return buffer.getvalue()


async def ok(sandbox: Sandbox, code: str) -> str:
    """Run Python in a fresh process (nothing cached from earlier runs); its stdout."""
    result = await sandbox.exec(code, context=None)
    assert result.exit_code == 0, result.text
    return result.stdout


async def sh(sandbox: Sandbox, script: str, stdin: bytes | None = None) -> str:
    result = await sandbox.run_command(["bash", "-c", script], stdin=stdin, timeout_ms=120_000)
    assert result.exit_code == 0, result.text
    return result.stdout


async def install_package(sandbox: Sandbox) -> None:
    """Build a wheel on the host, put it in the sandbox's /tmp, pip install it there, delete it."""
    await sh(sandbox, f"cat > {WHEEL}", stdin=wheel())
    await sh(sandbox, f"python3 -m pip install --no-index --disable-pip-version-check -q {WHEEL} && rm {WHEEL}")


async def imports(sandbox: Sandbox) -> bool:
    out = await ok(
        sandbox, "try:\n    import mod\n    print(mod.VALUE, mod.__file__)\nexcept ImportError:\n    print('no')"
    )
    return out.startswith("42 /usr/local/lib/python3.")


async def tmp_size_mb(sandbox: Sandbox) -> float:
    return float(await ok(sandbox, "import os; s = os.statvfs('/tmp'); print(s.f_blocks * s.f_frsize / 2**20)"))


def mounts_under(path: Path) -> list[str]:
    """Mount points on the host at or under ``path``."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point == str(path) or point.startswith(f"{path}/"):
            found.append(point)
    return found


def host_usr_local() -> set[str]:
    try:
        return set(os.listdir("/usr/local"))
    except FileNotFoundError:
        return set()


def owners(root: Path, besides: Path | None = None) -> set[int]:
    """Who owns each path under ``root`` but ``besides``, links not followed."""
    paths = [os.path.join(top, name) for top, dirs, files in os.walk(root) for name in dirs + files]
    return {os.lstat(path).st_uid for path in paths if besides is None or path != str(besides)}


# -- what a snapshot covers ----------------------------------------------------------------------------
async def test_a_snapshot_covers_every_tree_the_sandbox_can_write(runtime: Runtime) -> None:
    sandbox = await runtime.create_sandbox()
    try:
        trees = sandbox._env.snapshot_trees()
        if sandbox.backend == "process":  # its /tmp is the host's: not the sandbox's to snapshot
            assert list(trees) == ["workspace"]
        elif os.geteuid() == 0:
            assert sorted(trees) == ["local", "tmp", "workspace"]
        else:  # /tmp is bwrap's own tmpfs, out of the host's reach
            assert sorted(trees) == ["local", "workspace"]
        assert all(path.is_dir() for path in trees.values())
    finally:
        await sandbox.destroy()


# -- /tmp ------------------------------------------------------------------------------------------------
async def test_a_file_in_tmp_is_restored_byte_for_byte(sandbox_with_tmp: Sandbox) -> None:
    sandbox = sandbox_with_tmp
    data = os.urandom(3 * MiB + 17)
    await sh(sandbox, "mkdir -p /tmp/d/e && cat > /tmp/d/data.bin && chmod 640 /tmp/d/data.bin", stdin=data)
    await sh(sandbox, "echo kept > /tmp/d/e/small.txt && ln -s data.bin /tmp/d/link")
    snap = await sandbox.snapshot("tmp")
    await sh(
        sandbox, "printf X | dd of=/tmp/d/data.bin bs=1 seek=1000 conv=notrunc 2>/dev/null; chmod 600 /tmp/d/data.bin"
    )
    await sh(sandbox, "rm -r /tmp/d/e /tmp/d/link && echo added > /tmp/added.txt")

    await sandbox.restore(snap.id)

    digest = await ok(
        sandbox, "import hashlib; print(hashlib.sha256(open('/tmp/d/data.bin', 'rb').read()).hexdigest())"
    )
    assert digest.strip() == hashlib.sha256(data).hexdigest()
    listing = await sh(sandbox, "stat -c '%a %n' /tmp/d/data.bin; cat /tmp/d/e/small.txt; readlink /tmp/d/link")
    assert listing.split("\n")[:3] == ["640 /tmp/d/data.bin", "kept", "data.bin"]
    assert await ok(sandbox, "import os; print(os.path.exists('/tmp/added.txt'))") == "False\n"
    assert owners(env_of(sandbox).tmp) == {env_of(sandbox).uid}


async def test_tmp_stays_capped_after_a_stop_a_start_and_a_restore(sandbox_with_tmp: Sandbox) -> None:
    sandbox = sandbox_with_tmp
    assert await tmp_size_mb(sandbox) == LIMITS.tmpfs_mb
    snap = await sandbox.snapshot("empty")
    await sandbox.stop()
    await sandbox.start()
    assert await tmp_size_mb(sandbox) == LIMITS.tmpfs_mb
    await sandbox.restore(snap.id)
    assert await tmp_size_mb(sandbox) == LIMITS.tmpfs_mb
    filled = await ok(sandbox, f"PATH = '/tmp/fill'\n{FILL}")
    assert filled.startswith("stopped by ENOSPC after"), filled
    assert int(filled.split()[-2]) <= LIMITS.tmpfs_mb


async def test_a_restore_into_a_nearly_full_tmp_succeeds(sandbox_with_tmp: Sandbox) -> None:
    """The restore stages the snapshot's files in /tmp's filesystem before it deletes what they
    replace: with 6 MiB in /tmp and 6 MiB to bring back, it needs more than the 8 MiB cap."""
    sandbox = sandbox_with_tmp
    await sh(sandbox, "head -c 6M /dev/urandom > /tmp/before")
    snap = await sandbox.snapshot("before")
    await sh(sandbox, "rm /tmp/before && head -c 6M /dev/urandom > /tmp/after")

    await sandbox.restore(snap.id)

    assert await sh(sandbox, "ls /tmp; stat -c %s /tmp/before") == "before\n6291456\n"
    assert await tmp_size_mb(sandbox) == LIMITS.tmpfs_mb


async def test_tmp_survives_a_stop_and_a_start(sandbox_with_tmp: Sandbox) -> None:
    """A restart is not a reboot: like E2B's pause and resume, it keeps /tmp (and the REPL goes)."""
    sandbox = sandbox_with_tmp
    await sh(sandbox, "echo still-here > /tmp/note")
    await sandbox.exec("x = 1")
    await sandbox.stop()
    await sandbox.start()
    assert await sh(sandbox, "cat /tmp/note") == "still-here\n"
    assert (await sandbox.exec("x")).error is not None


# -- software the sandbox installs -------------------------------------------------------------------
async def test_a_package_installed_with_pip_survives_snapshot_and_restore(sandbox_with_tmp: Sandbox) -> None:
    sandbox = sandbox_with_tmp
    assert not await imports(sandbox)
    await install_package(sandbox)
    assert await imports(sandbox), "pip did not install into the sandbox's /usr/local"
    dist_info = f"/usr/local/lib/python3.*/dist-packages/{PACKAGE}-1.0.dist-info"
    snap = await sandbox.snapshot("installed")

    await sh(sandbox, f"python3 -m pip uninstall -y -q {PACKAGE}")
    assert not await imports(sandbox)

    await sandbox.restore(snap.id)
    assert await imports(sandbox)
    assert {"METADATA", "RECORD"} <= set((await sh(sandbox, f"ls {dist_info}")).split())
    assert PACKAGE in await sh(sandbox, "python3 -m pip list --disable-pip-version-check 2>/dev/null")
    assert owners(env_of(sandbox).usr_local) == {env_of(sandbox).uid}


async def test_a_fork_gets_tmp_and_usr_local_and_diverges(tmp_runtime: Runtime, sandbox_with_tmp: Sandbox) -> None:
    parent = sandbox_with_tmp
    await install_package(parent)
    await sh(parent, "echo base > /tmp/note")
    snap = await parent.snapshot("base")
    fork = await tmp_runtime.fork(parent, snap.id)
    try:
        assert await sh(fork, "cat /tmp/note") == "base\n"
        assert await imports(fork)
        await sh(fork, f"echo fork > /tmp/note && python3 -m pip uninstall -y -q {PACKAGE}")
        assert await sh(parent, "cat /tmp/note") == "base\n"
        assert await imports(parent)
        await sh(parent, "echo parent > /tmp/only-parent")
        assert await sh(fork, "cat /tmp/note; ls /tmp") == "fork\nnote\n"
        assert not await imports(fork)
    finally:
        await fork.destroy()


async def test_a_fork_whose_tmp_does_not_fit_its_limit_is_refused(
    tmp_runtime: Runtime, sandbox_with_tmp: Sandbox
) -> None:
    await sh(sandbox_with_tmp, "head -c 6M /dev/zero > /tmp/big")
    snap = await sandbox_with_tmp.snapshot("big")
    before = set(os.listdir(tmp_runtime.settings.sandboxes_dir))
    with pytest.raises(SandboxStartError, match="holds more than its limit of 4 MiB"):
        await tmp_runtime.fork(sandbox_with_tmp, snap.id, limits=SandboxLimits(tmpfs_mb=4))
    made = set(os.listdir(tmp_runtime.settings.sandboxes_dir)) - before
    assert made == set(), "the refused fork was not removed (nor its mount, which would keep its directory)"


async def test_the_hosts_usr_local_is_hidden_and_an_extra_bind_under_it_shows_and_stays(
    settings: Settings, ns_runtime: Runtime
) -> None:
    host = await asyncio.to_thread(host_usr_local)
    own = {"bin", "lib"}
    if not host - own:
        pytest.skip("the host's /usr/local holds nothing a sandbox could see")
    async with ns_runtime.sandbox() as sandbox:
        assert sorted(os.listdir(env_of(sandbox).usr_local)) == ["bin", "lib"]
        assert await ok(sandbox, "import os; print(sorted(os.listdir('/usr/local')))") == "['bin', 'lib']\n"
        assert await ok(sandbox, "import os; print(os.listdir('/usr/local/bin'))") == "[]\n"
    extra = f"/usr/local/{sorted(host - own)[0]}"
    namespace = settings.namespace.model_copy(update={"extra_ro_binds": [extra]})
    update = {"backend": "namespace", "namespace": namespace}
    async with Runtime(settings.model_copy(update=update)) as runtime, runtime.sandbox() as sandbox:
        inside = await ok(sandbox, f"import os; print(sorted(os.listdir({extra!r})))")
        assert inside == f"{sorted(os.listdir(extra))}\n"
        failed = await sandbox.exec(f"open({extra + '/airlock-probe'!r}, 'w')", context=None)
        assert failed.exit_code != 0, "an extra bind must be read-only"
        await sh(sandbox, "echo '#!/bin/sh' > /usr/local/bin/tool")
        assert await sandbox.reset(), "a reset must empty /usr/local around the bind, not fail on it"
        assert await ok(sandbox, f"import os; print(sorted(os.listdir({extra!r})))") == inside
        assert await ok(sandbox, "import os; print(os.listdir('/usr/local/bin'))") == "[]\n"


async def test_a_reset_empties_tmp_and_usr_local_and_keeps_the_skeleton(sandbox_with_tmp: Sandbox) -> None:
    sandbox = sandbox_with_tmp
    await install_package(sandbox)
    await sh(sandbox, "echo x > /tmp/left && echo '#!/bin/sh' > /usr/local/bin/tool")
    assert await sandbox.reset()
    assert await ok(sandbox, "import os; print(os.listdir('/tmp'))") == "[]\n"
    version = (await ok(sandbox, "import sys; print('%d.%d' % sys.version_info[:2])")).strip()
    assert (await sh(sandbox, "find /usr/local -mindepth 1 | sort")).split() == [
        "/usr/local/bin",
        "/usr/local/lib",
        f"/usr/local/lib/python{version}",
        f"/usr/local/lib/python{version}/dist-packages",
    ]
    assert not await imports(sandbox)
    await install_package(sandbox)  # pip still installs where site looks
    assert await imports(sandbox)


# -- no mount outlives its sandbox -------------------------------------------------------------------
async def test_destroy_leaves_no_mount(tmp_runtime: Runtime) -> None:
    sandbox = await tmp_runtime.create_sandbox(limits=LIMITS)
    root = env_of(sandbox).root
    assert mounts_under(root) == [str(env_of(sandbox).tmpfs)]
    await sh(sandbox, "echo x > /tmp/x")
    await sandbox.destroy()
    assert mounts_under(root) == []
    assert not root.exists()


async def test_reaping_an_orphan_leaves_no_mount(tmp_runtime: Runtime) -> None:
    dead = await asyncio.create_subprocess_exec("true")
    await dead.wait()
    orphan = await tmp_runtime.create_sandbox(limits=LIMITS)
    tmp_runtime.detach(orphan.id)
    root = env_of(orphan).root
    try:
        await sh(orphan, "echo x > /tmp/x")
        owner = root / OWNER_FILE
        owner.write_text(owner.read_text().replace(str(os.getpid()), str(dead.pid), 1))  # as if its maker died
        assert orphan.id in await tmp_runtime.reap_orphans(keep=set())
        assert mounts_under(root) == []
        assert not root.exists()
    finally:
        await orphan.destroy()


# -- a server restart (reopen) -----------------------------------------------------------------------
async def test_a_reopened_sandbox_keeps_tmp_and_usr_local_under_its_new_uid(
    settings: Settings, tmp_runtime: Runtime, tmp_path: Path
) -> None:
    sandbox = await tmp_runtime.create_sandbox(limits=LIMITS)
    await install_package(sandbox)
    await sh(sandbox, "echo kept > /tmp/note")
    host_dir = tmp_path / "host-owned"
    host_dir.mkdir()
    (host_dir / "host-file").write_text("the host's")
    (Path(sandbox.workspace_path) / "host-link").symlink_to(host_dir)  # a reopen must not follow it
    await sandbox.stop()
    tmp_runtime.detach(sandbox.id)
    old_uid = env_of(sandbox).uid

    async with Runtime(settings.model_copy(update={"backend": "namespace"})) as runtime:
        reopened = await runtime.reopen_sandbox(sandbox.id, language="python", backend="namespace", limits=LIMITS)
        await reopened.start()
        environment = env_of(reopened)
        assert environment.uid != old_uid
        assert await sh(reopened, "cat /tmp/note") == "kept\n"
        assert await imports(reopened)
        assert await tmp_size_mb(reopened) == LIMITS.tmpfs_mb
        # All of it is the new uid's but the services folder, Airlock's (the code cannot write there).
        services = environment.services_dir
        assert owners(environment.root, besides=services) == {environment.uid}
        assert (services.stat().st_uid, os.listdir(services)) == (os.geteuid(), [])
        assert (host_dir.stat().st_uid, (host_dir / "host-file").stat().st_uid) == (0, 0)
        await reopened.destroy()
    assert mounts_under(environment.root) == []


async def test_a_reopen_after_a_reboot_mounts_an_empty_capped_tmp(settings: Settings, tmp_runtime: Runtime) -> None:
    sandbox = await tmp_runtime.create_sandbox(limits=LIMITS)
    await install_package(sandbox)
    await sh(sandbox, "echo gone > /tmp/note")
    await sandbox.stop()
    tmp_runtime.detach(sandbox.id)
    root = env_of(sandbox).root
    tmp_runtime.backend("namespace").reap(sandbox.id)  # a reboot takes the host's tmpfs mounts
    assert mounts_under(root) == []

    async with Runtime(settings.model_copy(update={"backend": "namespace"})) as runtime:
        reopened = await runtime.reopen_sandbox(sandbox.id, language="python", backend="namespace", limits=LIMITS)
        await reopened.start()
        assert await ok(reopened, "import os; print(os.listdir('/tmp'))") in ("[]\n", "['.airlock']\n")
        assert await tmp_size_mb(reopened) == LIMITS.tmpfs_mb
        assert await imports(reopened), "/usr/local is on disk: a reboot keeps it"
        await reopened.destroy()
    assert mounts_under(root) == []
