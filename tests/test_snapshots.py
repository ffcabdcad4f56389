"""Snapshots, rollback and fork, on every backend: a failed exec is rolled back to a byte-identical
tree, a fork is independent of its parent, the cap holds, a crash mid-write and a tampered snapshot
are caught, and a reused pooled sandbox carries none of its previous user's snapshots."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from airlock import Runtime, Sandbox, SandboxState, SandboxStateError, Settings
from airlock.errors import SnapshotError, SnapshotNotFound
from airlock.models import Capability, SnapshotPolicy
from airlock.snapshots import SnapshotStore

#: Builds a tree with every kind of thing a workspace holds: nested files, modes, a symlink, an
#: empty directory, a large file, and a file with an mtime in the past.
BUILD = """
import os
os.makedirs('src/pkg', exist_ok=True)
os.makedirs('empty')
open('src/pkg/__init__.py', 'w').write('VERSION = 1\\n')
open('run.sh', 'w').write('#!/bin/sh\\necho hi\\n'); os.chmod('run.sh', 0o755)
open('secret.txt', 'w').write('s3cret'); os.chmod('secret.txt', 0o600)
open('big.bin', 'wb').write(os.urandom(3 * 1024 * 1024))
open('old.txt', 'w').write('old'); os.utime('old.txt', (1_000_000_000, 1_000_000_000))
os.symlink('src/pkg/__init__.py', 'link.py')
"""

#: Vandalises that tree: deletes, rewrites in place keeping size and mtime, changes modes, adds,
#: turns a directory into a symlink to a host directory, then fails.
VANDALISE = """
import os, shutil
os.remove('secret.txt')
with open('big.bin', 'r+b') as f:
    f.seek(1000); f.write(b'X' * 10)
os.utime('big.bin', (os.stat('big.bin').st_atime, os.stat('big.bin').st_mtime - 100))
os.chmod('run.sh', 0o644)
open('old.txt', 'w').write('new')
os.utime('old.txt', (1_000_000_000, 1_000_000_000))
open('added.txt', 'w').write('added')
shutil.rmtree('src')
os.symlink('/etc', 'src')
os.rmdir('empty')
os.remove('link.py'); os.symlink('/etc/passwd', 'link.py')
raise SystemExit(1)
"""


def tree_of(root: Path) -> dict[str, tuple[Any, ...]]:
    """Every path under ``root``: its type, mode, mtime, and content hash or link target."""
    found: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path), st.st_mtime_ns)
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[rel] = ("file", stat.S_IMODE(st.st_mode), digest, st.st_mtime_ns)
    return found


async def ok(sandbox: Sandbox, code: str, **options: Any) -> str:
    result = await sandbox.exec(code, context=None, **options)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def workspace(sandbox: Sandbox) -> Path:
    return Path(sandbox.workspace_path)


# -- rollback ----------------------------------------------------------------------------------------
async def test_a_failed_exec_is_rolled_back_to_a_byte_identical_tree(sandbox: Sandbox) -> None:
    await ok(sandbox, BUILD)
    before = tree_of(workspace(sandbox))
    sandbox.policy = SnapshotPolicy(auto_rollback_on_failure=True)

    result = await sandbox.exec(VANDALISE, context=None)

    assert result.exit_code == 1
    assert result.rolled_back_to is not None
    assert result.snapshots == [result.rolled_back_to]
    assert tree_of(workspace(sandbox)) == before
    assert await ok(sandbox, "print(open('src/pkg/__init__.py').read(), end='')") == "VERSION = 1\n"
    assert sandbox.state is SandboxState.RUNNING


async def test_a_successful_exec_is_not_rolled_back(sandbox: Sandbox) -> None:
    sandbox.policy = SnapshotPolicy(auto_rollback_on_failure=True, snapshot_on_failure=True)
    result = await sandbox.exec("open('kept.txt', 'w').write('yes')", context=None)
    assert (result.rolled_back_to, len(result.snapshots)) == (None, 1)
    assert (workspace(sandbox) / "kept.txt").read_text() == "yes"


async def test_snapshot_on_failure_keeps_the_failed_state(sandbox: Sandbox) -> None:
    sandbox.policy = SnapshotPolicy(snapshot_before_exec=True, snapshot_on_failure=True)
    result = await sandbox.exec("open('broken.txt', 'w').write('half'); 1/0", context=None)
    before, failed = result.snapshots
    assert result.rolled_back_to is None
    assert (workspace(sandbox) / "broken.txt").exists()
    await sandbox.restore(before)
    assert not (workspace(sandbox) / "broken.txt").exists()
    await sandbox.restore(failed)
    assert (workspace(sandbox) / "broken.txt").read_text() == "half"


async def test_a_snapshot_copies_only_what_changed(sandbox: Sandbox) -> None:
    await ok(sandbox, BUILD)
    first = await sandbox.snapshot("first")
    assert first.new_bytes >= 3 * 1024 * 1024
    await ok(sandbox, "open('one.bin', 'wb').write(b'z' * 100_000)")
    second = await sandbox.snapshot("second")
    assert second.new_bytes == 100_000, "only the new file is read and stored"
    assert second.bytes == first.bytes + 100_000
    assert (second.memory, first.memory) == (False, False)
    assert Capability.SNAPSHOTS in sandbox.capabilities
    assert Capability.MEMORY_SNAPSHOTS not in sandbox.capabilities  # files only, and it says so


async def test_rollback_to_last_success_across_agents(sandbox: Sandbox) -> None:
    sandbox.policy = SnapshotPolicy(snapshot_before_exec=True)
    await ok(sandbox, "open('a.txt', 'w').write('a')", agent_id="alice")
    await ok(sandbox, "open('b.txt', 'w').write('b')", agent_id="bob")
    await ok(sandbox, "open('c.txt', 'w').write('c')", agent_id="alice")
    await ok(sandbox, "open('d.txt', 'w').write('d')", agent_id="carol")

    await sandbox.rollback_to_last_success("bob")
    assert sorted(p.name for p in workspace(sandbox).iterdir()) == ["a.txt", "b.txt"]
    await sandbox.rollback_to_last_success("alice")  # alice's last success: after c.txt
    assert sorted(p.name for p in workspace(sandbox).iterdir()) == ["a.txt", "b.txt", "c.txt"]
    with pytest.raises(SnapshotNotFound):
        await sandbox.rollback_to_last_success("dave")


# -- fork ---------------------------------------------------------------------------------------------
async def test_a_fork_diverges_without_touching_its_parent(runtime: Runtime, sandbox: Sandbox) -> None:
    await ok(sandbox, BUILD)
    snap = await sandbox.snapshot("base")
    parent_before = tree_of(workspace(sandbox))
    fork = await runtime.fork(sandbox, snap.id)
    try:
        assert fork.id != sandbox.id
        assert tree_of(workspace(fork)) == parent_before
        await ok(fork, "import os; os.remove('run.sh'); open('secret.txt', 'w').write('changed in the fork')")
        assert tree_of(workspace(sandbox)) == parent_before
        await ok(sandbox, "open('parent.txt', 'w').write('p')")
        assert not (workspace(fork) / "parent.txt").exists()
        await sandbox.destroy()
        assert await ok(fork, "print(open('secret.txt').read())") == "changed in the fork\n"
    finally:
        await fork.destroy()


# -- limits, crashes and tampering -----------------------------------------------------------------------
async def test_the_cap_drops_the_oldest_unpinned_snapshot(settings: Settings, backend_name: str) -> None:
    async with Runtime(settings.model_copy(update={"backend": backend_name, "max_snapshots": 3})) as runtime:
        sandbox = await runtime.create_sandbox()
        pinned = await sandbox.snapshot("pinned", pinned=True)
        names = []
        for i in range(5):
            await ok(sandbox, f"open('f{i}', 'w').write('{i}')")
            names.append((await sandbox.snapshot(f"s{i}")).name)
        kept = [info.name for info in await sandbox.list_snapshots()]
        assert kept == ["pinned", "s3", "s4"]
        await sandbox.restore(pinned.id)
        assert list(workspace(sandbox).iterdir()) == []


async def test_a_crash_while_a_snapshot_is_written_leaves_the_earlier_ones_valid(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ok(sandbox, "open('good.txt', 'w').write('good')")
    good = await sandbox.snapshot("good")
    await ok(sandbox, "open('later.txt', 'w').write('later')")

    def crash(*args: Any) -> None:
        raise OSError("disk gone mid-write")

    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(OSError, match="disk gone"):
        await sandbox.snapshot("torn")
    monkeypatch.undo()

    assert [info.name for info in await sandbox.list_snapshots()] == ["good"]
    await sandbox.restore(good.id)
    assert sorted(p.name for p in workspace(sandbox).iterdir()) == ["good.txt"]


@pytest.mark.parametrize("part", ["content", "manifest"])
async def test_a_tampered_snapshot_is_refused_and_changes_nothing(sandbox: Sandbox, part: str) -> None:
    await ok(sandbox, "open('data.txt', 'w').write('original')")
    snap = await sandbox.snapshot("s")
    await ok(sandbox, "open('data.txt', 'w').write('current'); open('more.txt', 'w').write('x')")
    before = tree_of(workspace(sandbox))
    store: SnapshotStore = sandbox._snapshots  # type: ignore[assignment]
    if part == "content":
        digest = hashlib.sha256(b"original").hexdigest()
        target = store.root / "objects" / digest[:2] / digest[2:]
        target.chmod(0o600)
        target.write_bytes(b"forged!!")
    else:
        manifest = store.root / "sandboxes" / sandbox.id / f"{snap.id}.json"
        manifest.write_text(manifest.read_text().replace('"mode": 420', '"mode": 511'))

    with pytest.raises(SnapshotError, match="checksum"):
        await sandbox.restore(snap.id)
    assert tree_of(workspace(sandbox)) == before
    assert sandbox.quarantined is None
    assert await ok(sandbox, "print('still runs')") == "still runs\n"


async def test_a_restore_that_fails_part_way_quarantines_the_sandbox(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ok(sandbox, "open('a.txt', 'w').write('a')")
    snap = await sandbox.snapshot("s")
    await ok(sandbox, "import os; os.remove('a.txt'); open('b.txt', 'w').write('b')")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(SnapshotError) as caught:
        await sandbox.restore(snap.id)
    monkeypatch.undo()
    assert caught.value.partial
    assert sandbox.quarantined is not None
    with pytest.raises(SandboxStateError, match="quarantined"):
        await sandbox.exec("print(1)")

    await sandbox.restore(snap.id)
    assert sandbox.quarantined is None
    assert await ok(sandbox, "import os; print(sorted(os.listdir('.')))") == "['a.txt']\n"


async def test_a_link_to_a_host_file_is_kept_as_a_link_never_as_its_content(sandbox: Sandbox) -> None:
    await ok(sandbox, "import os; os.symlink('/etc/hostname', 'host'); os.symlink('/root', 'rootdir')")
    snap = await sandbox.snapshot("links")
    assert (snap.files, snap.new_bytes) == (0, 0)
    await ok(sandbox, "import os; os.remove('host')")
    await sandbox.restore(snap.id)
    assert os.readlink(workspace(sandbox) / "host") == "/etc/hostname"


async def test_unknown_snapshots_are_not_found(sandbox: Sandbox) -> None:
    for bad in ("01abc", "../../etc/passwd", ""):
        with pytest.raises(SnapshotNotFound):
            await sandbox.restore(bad)
    with pytest.raises(SnapshotNotFound):
        await sandbox.delete_snapshot("01abc")


async def test_deleting_a_snapshot_keeps_content_another_one_holds(sandbox: Sandbox) -> None:
    await ok(sandbox, "open('shared.txt', 'w').write('shared')")
    first = await sandbox.snapshot("first")
    second = await sandbox.snapshot("second")
    await sandbox.delete_snapshot(first.id)
    await ok(sandbox, "import os; os.remove('shared.txt')")
    await sandbox.restore(second.id)
    assert (workspace(sandbox) / "shared.txt").read_text() == "shared"
    assert [info.id for info in await sandbox.list_snapshots()] == [second.id]


async def test_destroying_a_sandbox_drops_its_snapshots(runtime: Runtime) -> None:
    sandbox = await runtime.create_sandbox()
    await ok(sandbox, "open('x', 'w').write('x' * 1000)")
    await sandbox.snapshot("s")
    await sandbox.destroy()
    assert runtime.snapshots.list_snapshots(sandbox.id) == []
    assert [p for p in (runtime.snapshots.root / "objects").glob("??/*")] == []
