"""The snapshot store on its own, on plain directories: a snapshot and a restore touch only what
changed, yet a rewrite that puts size and mtime back is caught, every kind of path comes back,
damaged content and escaping manifests are refused before the tree changes, and the cap's clean-up
keeps content another snapshot still holds."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from pathlib import Path

import pytest

from airlock.errors import SnapshotError
from airlock.snapshots import SnapshotStore
from test_snapshots import tree_of


def stamps(root: Path) -> dict[str, tuple[int, int]]:
    """Inode and ctime of every path: a write, rename, chmod, chown or utime changes one of them."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            st = (Path(dirpath) / name).lstat()
            found[str((Path(dirpath) / name).relative_to(root))] = (st.st_ino, st.st_ctime_ns)
    return found


@pytest.fixture
def store(tmp_path: Path) -> SnapshotStore:
    return SnapshotStore(tmp_path / "store")


@pytest.fixture
def workspace(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "workspace"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "src" / "pkg" / "main.py").write_text("print('hi')\n")
    (root / "data.bin").write_bytes(os.urandom(64 * 1024))
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    (root / "link.py").symlink_to("src/pkg/main.py")
    os.utime(root / "src", ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    time.sleep(0.05)  # a file changed in the last few ms is re-read anyway: let the store trust its ctime
    return {"workspace": root}


def test_a_rewrite_that_puts_size_and_mtime_back_is_snapshotted_and_restored(
    store: SnapshotStore, workspace: dict[str, Path]
) -> None:
    data = workspace["workspace"] / "data.bin"
    first = store.take("sb", workspace, name="first")
    original, before = data.read_bytes(), data.stat()
    with data.open("r+b") as file:
        file.seek(1000)
        file.write(b"X" * 10)
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))
    rewritten = data.read_bytes()
    assert (data.stat().st_size, data.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)

    second = store.take("sb", workspace, name="second")
    assert second.new_bytes == len(rewritten)  # that file, and only it, was read and stored

    store.restore("sb", first.id, workspace)
    assert data.read_bytes() == original
    store.restore("sb", second.id, workspace)
    assert data.read_bytes() == rewritten


def test_a_restore_touches_only_what_differs_and_a_second_one_nothing(
    store: SnapshotStore, workspace: dict[str, Path]
) -> None:
    root = workspace["workspace"]
    snap = store.take("sb", workspace, name="s")
    expected = tree_of(root)
    (root / "src" / "pkg" / "main.py").write_text("print('changed')\n")
    before = stamps(root)

    store.restore("sb", snap.id, workspace)
    assert tree_of(root) == expected
    after = stamps(root)
    touched = {path for path in before if before[path] != after[path]}
    assert touched == {"src/pkg/main.py", "src/pkg"}  # the file, and its directory's mtime put back

    store.restore("sb", snap.id, workspace)
    assert stamps(root) == after
    assert tree_of(root) == expected


def test_added_paths_go_and_changed_types_and_links_come_back(store: SnapshotStore, workspace: dict[str, Path]) -> None:
    root = workspace["workspace"]
    snap = store.take("sb", workspace, name="s")
    expected = tree_of(root)
    (root / "added.txt").write_text("added")
    (root / "src" / "pkg" / "new").mkdir()
    (root / "src" / "pkg" / "new" / "deep.txt").write_text("deep")
    (root / "empty").rmdir()
    (root / "empty").write_text("a file where a directory was")
    (root / "data.bin").unlink()
    (root / "data.bin").mkdir()
    (root / "link.py").unlink()
    (root / "link.py").symlink_to("/etc/passwd")
    os.mkfifo(root / "fifo")

    store.restore("sb", snap.id, workspace)
    assert tree_of(root) == expected
    assert os.readlink(root / "link.py") == "src/pkg/main.py"


def test_a_mode_change_alone_is_put_back(store: SnapshotStore, workspace: dict[str, Path]) -> None:
    root = workspace["workspace"]
    snap = store.take("sb", workspace, name="s")
    expected = tree_of(root)
    (root / "run.sh").chmod(0o600)
    (root / "src").chmod(0o700)

    store.restore("sb", snap.id, workspace)
    assert tree_of(root) == expected
    assert stat.S_IMODE((root / "run.sh").stat().st_mode) == 0o755


def test_corrupted_content_is_refused_before_the_tree_changes(store: SnapshotStore, workspace: dict[str, Path]) -> None:
    root = workspace["workspace"]
    snap = store.take("sb", workspace, name="s")
    content = (root / "data.bin").read_bytes()
    (root / "data.bin").write_bytes(b"current")
    (root / "added.txt").write_text("added")
    (root / "run.sh").chmod(0o600)
    before, before_stamps = tree_of(root), stamps(root)
    digest = hashlib.sha256(content).hexdigest()
    stored = store.root / "objects" / digest[:2] / digest[2:]
    stored.chmod(0o600)
    stored.write_bytes(content[:-1] + b"!")

    with pytest.raises(SnapshotError, match="checksum") as caught:
        store.restore("sb", snap.id, workspace)
    assert not caught.value.partial
    assert tree_of(root) == before
    assert stamps(root) == before_stamps


@pytest.mark.parametrize("path", ["../outside", "/outside", "src/../../outside", "ghost/x"])
def test_a_manifest_naming_a_path_outside_the_tree_is_refused_even_with_a_valid_digest(
    store: SnapshotStore, workspace: dict[str, Path], path: str
) -> None:
    snap = store.take("sb", workspace, name="s")
    manifest = store.root / "sandboxes" / "sb" / f"{snap.id}.json"
    _, info, listing = manifest.read_bytes().split(b"\n")[:3]
    entries = json.loads(listing)
    entries["workspace"].append({"path": path, "type": "symlink", "mode": 0o777, "mtime_ns": 0, "target": "/"})
    body = info + b"\n" + json.dumps(entries).encode() + b"\n"
    header = json.dumps({"format": 2, "digest": hashlib.sha256(body).hexdigest()}).encode()
    manifest.write_bytes(header + b"\n" + body)
    before = tree_of(workspace["workspace"])

    with pytest.raises(SnapshotError, match="not a snapshot this Airlock can read"):
        store.restore("sb", snap.id, workspace)
    assert tree_of(workspace["workspace"]) == before
    assert not (workspace["workspace"].parent / "outside").exists()


def test_the_cap_removes_content_only_the_dropped_snapshot_held(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "store", max_per_sandbox=1)
    mine, other = tmp_path / "mine", tmp_path / "other"
    for root in (mine, other):
        root.mkdir()
        (root / "shared.txt").write_text("held by both sandboxes")
    (mine / "own.txt").write_text("only in the first snapshot")
    store.take("other", {"workspace": other}, name="other")
    store.take("mine", {"workspace": mine}, name="first")
    (mine / "own.txt").write_text("in the second")

    second = store.take("mine", {"workspace": mine}, name="second")

    assert [info.id for info in store.list_snapshots("mine")] == [second.id]
    stored = {path.parent.name + path.name for path in (store.root / "objects").glob("??/*")}
    digests = {text: hashlib.sha256(text.encode()).hexdigest() for text in ("held by both sandboxes", "in the second")}
    assert stored == set(digests.values())
    (mine / "shared.txt").unlink()
    store.restore("mine", second.id, {"workspace": mine})
    assert (mine / "shared.txt").read_text() == "held by both sandboxes"


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to another user needs root")
def test_the_owner_is_given_to_every_path_and_keeps_its_setuid_bit(
    store: SnapshotStore, workspace: dict[str, Path]
) -> None:
    root = workspace["workspace"]
    (root / "run.sh").chmod(0o4755)
    snap = store.take("sb", workspace, name="s")
    expected = tree_of(root)
    (root / "src" / "pkg" / "main.py").write_text("changed")

    store.restore("sb", snap.id, workspace, owner=(65534, 65534))
    assert tree_of(root) == expected  # a chown clears setuid: the mode is put back after it
    assert {((root / path).lstat().st_uid, (root / path).lstat().st_gid) for path in stamps(root)} == {(65534, 65534)}
