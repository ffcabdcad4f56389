"""Filesystem snapshots: content-addressed, checksummed, written atomically, restored byte for byte.

A snapshot is a manifest — every path of the trees it covers, with its type, mode, mtime and size,
and for a file the SHA-256 of its content — plus the content, kept once per digest under
``objects/`` and shared by every snapshot (and every sandbox) that holds it.

Taking one reads and copies only what changed since the sandbox's last snapshot or restore: a file
whose inode, ctime and size are what they were then is unchanged (code in a sandbox can set a
file's mtime, never its ctime). So a snapshot costs time in proportion to what changed, plus one
``lstat`` per path, not in proportion to the workspace's size. Objects and manifests are written to
a temporary file, fsynced and renamed into place: a crash leaves the earlier snapshots whole.

Restoring first checks the manifest's own digest and the digest of every object it needs, copies
those into a staging directory beside the tree, and only then changes the tree: a tampered or
incomplete snapshot is refused before anything is touched. A failure while the tree is being
changed raises ``SnapshotError`` with ``partial=True``; the caller must not let that sandbox run
until it is restored again or destroyed.

    store = SnapshotStore(home / "snapshots")
    info = store.take(sandbox_id, {"workspace": path}, name="before", owner=(uid, gid))
    store.restore(info.id, {"workspace": path}, owner=(uid, gid))
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict, Field

from airlock.errors import SnapshotError, SnapshotNotFound
from airlock.models import new_ulid

__all__ = ["DEFAULT_MAX_SNAPSHOTS", "SnapshotInfo", "SnapshotStore"]

DEFAULT_MAX_SNAPSHOTS = 10
_CHUNK = 1 << 20
_FORMAT = 1
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class SnapshotInfo(BaseModel):
    """What a snapshot is, without its file list."""

    model_config = ConfigDict(extra="forbid")
    id: str
    sandbox_id: str
    name: str
    created_at: datetime
    pinned: bool = False
    memory: bool = Field(False, description="whether process memory is included: never, on these backends")
    files: int = 0
    bytes: int = Field(0, description="content size of every file it holds")
    new_bytes: int = Field(0, description="content this snapshot had to copy (what changed)")
    skipped: list[str] = Field(default_factory=list, description="paths of kinds it cannot hold (fifos, sockets)")
    meta: dict[str, Any] = Field(default_factory=dict, description="who took it and why (agent, execution)")


@dataclass(frozen=True)
class _Seen:
    """A file as last snapshotted or restored: if these still match, its content is ``digest``."""

    ino: int
    ctime_ns: int
    size: int
    digest: str


class SnapshotStore:
    """Snapshots of sandboxes' trees under ``root``; its methods block (run them in a thread)."""

    def __init__(self, root: Path, *, max_per_sandbox: int = DEFAULT_MAX_SNAPSHOTS) -> None:
        self.root = root
        self.max_per_sandbox = max_per_sandbox
        #: Per sandbox, its files as its last snapshot or restore saw them (after a restart: nothing,
        #: so the next snapshot reads every file once).
        self._seen: dict[str, dict[tuple[str, str], _Seen]] = {}
        self._lock = threading.Lock()  # one writer at a time per store: cap, deletion and GC agree

    # -- paths --------------------------------------------------------------------------------------
    def _objects(self) -> Path:
        return self.root / "objects"

    def _object(self, digest: str) -> Path:
        return self._objects() / digest[:2] / digest[2:]

    def _manifests(self, sandbox_id: str) -> Path:
        return self.root / "sandboxes" / sandbox_id

    def _manifest_path(self, sandbox_id: str, snapshot_id: str) -> Path:
        return self._manifests(sandbox_id) / f"{snapshot_id}.json"

    # -- taking -------------------------------------------------------------------------------------
    def take(
        self,
        sandbox_id: str,
        trees: dict[str, Path],
        *,
        name: str,
        pinned: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> SnapshotInfo:
        """Snapshot ``trees`` (name -> host directory); the oldest unpinned snapshots past the cap go."""
        with self._lock:
            seen = self._seen.get(sandbox_id, {})
            fresh: dict[tuple[str, str], _Seen] = {}
            listing: dict[str, list[dict[str, Any]]] = {}
            counts = {"files": 0, "bytes": 0, "new_bytes": 0}
            skipped: list[str] = []
            for tree, base in trees.items():
                listing[tree] = self._walk(tree, base, seen, fresh, counts, skipped)
            info = SnapshotInfo(
                id=new_ulid().lower(),
                sandbox_id=sandbox_id,
                name=name,
                created_at=datetime.now(UTC),
                pinned=pinned,
                skipped=skipped,
                meta=dict(meta or {}),
                **counts,
            )
            self._write_manifest(info, listing)
            self._seen[sandbox_id] = fresh
            self._enforce_cap(sandbox_id)
            return info

    def _walk(
        self,
        tree: str,
        base: Path,
        seen: dict[tuple[str, str], _Seen],
        fresh: dict[tuple[str, str], _Seen],
        counts: dict[str, int],
        skipped: list[str],
    ) -> list[dict[str, Any]]:
        """Every path under ``base``, parents before children. Each step is relative to an open
        directory and never follows a symlink, so code in the sandbox swapping a directory for a
        link while this runs cannot make it read anything outside the tree."""
        entries: list[dict[str, Any]] = []
        stack = [("", os.open(base, _DIR_FLAGS))]
        try:
            while stack:
                rel, fd = stack.pop()
                try:
                    with os.scandir(fd) as scan:
                        names = sorted(entry.name for entry in scan)
                    for name in names:
                        path = f"{rel}/{name}" if rel else name
                        try:
                            entry = self._entry(tree, path, name, fd, seen, fresh, counts, stack)
                        except FileNotFoundError:
                            continue  # gone since the listing
                        if entry is None:
                            skipped.append(f"{tree}/{path}")
                        else:
                            entries.append(entry)
                finally:
                    os.close(fd)
        finally:
            for _, fd in stack:
                os.close(fd)
        return entries

    def _entry(
        self,
        tree: str,
        path: str,
        name: str,
        parent: int,
        seen: dict[tuple[str, str], _Seen],
        fresh: dict[tuple[str, str], _Seen],
        counts: dict[str, int],
        stack: list[tuple[str, int]],
    ) -> dict[str, Any] | None:
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        entry: dict[str, Any] = {"path": path, "mode": stat.S_IMODE(st.st_mode), "mtime_ns": st.st_mtime_ns}
        if stat.S_ISDIR(st.st_mode):
            stack.append((path, os.open(name, _DIR_FLAGS, dir_fd=parent)))
            return entry | {"type": "dir"}
        if stat.S_ISLNK(st.st_mode):
            return entry | {"type": "symlink", "target": os.readlink(name, dir_fd=parent)}
        if not stat.S_ISREG(st.st_mode):
            return None
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent)
        with open(fd, "rb") as source:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            known = seen.get((tree, path))
            if (
                known is not None
                and (known.ino, known.ctime_ns, known.size) == (st.st_ino, st.st_ctime_ns, st.st_size)
                and self._object(known.digest).exists()
            ):
                digest = known.digest
            else:
                digest, copied = self._store_object(source)
                counts["new_bytes"] += copied
        fresh[(tree, path)] = _Seen(st.st_ino, st.st_ctime_ns, st.st_size, digest)
        counts["files"] += 1
        counts["bytes"] += st.st_size
        return entry | {"type": "file", "size": st.st_size, "sha256": digest, "mtime_ns": st.st_mtime_ns}

    def _store_object(self, source: BinaryIO) -> tuple[str, int]:
        """Copy ``source`` into the object store, hashing as it goes; (digest, bytes newly stored)."""
        staging = self._objects() / "tmp"
        staging.mkdir(parents=True, exist_ok=True, mode=0o700)
        hasher = hashlib.sha256()
        fd, temp = tempfile.mkstemp(dir=staging)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            target = self._object(digest)
            if target.exists():
                os.unlink(temp)
                return digest, 0
            target.parent.mkdir(exist_ok=True, mode=0o700)
            os.chmod(temp, 0o400)
            os.rename(temp, target)
            return digest, size
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def _write_manifest(self, info: SnapshotInfo, listing: dict[str, list[dict[str, Any]]]) -> None:
        body = {"format": _FORMAT, "info": info.model_dump(mode="json"), "trees": listing}
        document = {**body, "digest": _digest_json(body)}
        folder = self._manifests(info.sandbox_id)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_atomically(self._manifest_path(info.sandbox_id, info.id), json.dumps(document).encode())

    # -- reading ------------------------------------------------------------------------------------
    def list_snapshots(self, sandbox_id: str) -> list[SnapshotInfo]:
        """The sandbox's snapshots, oldest first (ids are time-ordered)."""
        folder = self._manifests(sandbox_id)
        if not folder.is_dir():
            return []
        infos = []
        for path in sorted(folder.glob("*.json")):
            try:
                infos.append(SnapshotInfo.model_validate(json.loads(path.read_bytes())["info"]))
            except (OSError, ValueError, KeyError):
                continue  # a damaged manifest is not listed; restoring it by id reports why
        return infos

    def get(self, sandbox_id: str, snapshot_id: str) -> SnapshotInfo:
        return SnapshotInfo.model_validate(self._load(sandbox_id, snapshot_id)["info"])

    def _load(self, sandbox_id: str, snapshot_id: str) -> dict[str, Any]:
        """The manifest, checked against its own digest."""
        if not _is_id(snapshot_id) or not _is_id(sandbox_id):
            raise SnapshotNotFound(f"no snapshot {snapshot_id!r} of sandbox {sandbox_id}")
        path = self._manifest_path(sandbox_id, snapshot_id)
        try:
            document = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise SnapshotNotFound(f"no snapshot {snapshot_id!r} of sandbox {sandbox_id}") from None
        except (OSError, ValueError) as exc:
            raise SnapshotError(f"snapshot {snapshot_id} is unreadable: {exc}") from exc
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise SnapshotError(f"snapshot {snapshot_id} is not a snapshot this Airlock can read")
        claimed = document.pop("digest", None)
        if claimed != _digest_json(document):
            raise SnapshotError(f"snapshot {snapshot_id} failed its checksum: its manifest was changed or damaged")
        return document

    # -- restoring ----------------------------------------------------------------------------------
    def restore(
        self,
        sandbox_id: str,
        snapshot_id: str,
        trees: dict[str, Path],
        *,
        owner: tuple[int, int] | None = None,
        into: str | None = None,
    ) -> SnapshotInfo:
        """Make ``trees`` exactly what the snapshot holds: contents, modes, mtimes, symlinks. Nothing
        is changed unless every object checks out. ``owner`` (uid, gid) gets what is written; ``into``
        names the sandbox whose trees these are when it is not the snapshot's own (a fork)."""
        with self._lock:
            document = self._load(sandbox_id, snapshot_id)
            missing = sorted(set(trees) ^ set(document["trees"]))
            if missing:
                raise SnapshotError(f"snapshot {snapshot_id} covers {sorted(document['trees'])}, not {sorted(trees)}")
            target = into or sandbox_id
            seen = self._seen.get(target, {})
            plans = {tree: self._plan(tree, base, document["trees"][tree], seen) for tree, base in trees.items()}
            fresh: dict[tuple[str, str], _Seen] = {}
            try:
                for tree, base in trees.items():
                    self._apply(tree, base, document["trees"][tree], plans[tree], owner, fresh)
            except OSError as exc:
                raise SnapshotError(f"restoring snapshot {snapshot_id} failed part way: {exc}", partial=True) from exc
            finally:
                for plan in plans.values():
                    shutil.rmtree(plan.staging, ignore_errors=True)
            self._seen[target] = fresh
            return SnapshotInfo.model_validate(document["info"])

    def _plan(self, tree: str, base: Path, entries: list[dict[str, Any]], seen: dict[tuple[str, str], _Seen]) -> _Plan:
        """Which files must be copied back, staged (and verified) beside the tree."""
        staging = Path(tempfile.mkdtemp(prefix=".airlock-restore-", dir=base.parent))
        plan = _Plan(staging=staging, staged={})
        try:
            for entry in entries:
                if entry["type"] != "file":
                    continue
                known = seen.get((tree, entry["path"]))
                current = _lstat(base / entry["path"])
                unchanged = (
                    known is not None
                    and current is not None
                    and stat.S_ISREG(current.st_mode)
                    and (known.ino, known.ctime_ns, known.size)
                    == (current.st_ino, current.st_ctime_ns, current.st_size)
                    and known.digest == entry["sha256"]
                )
                if not unchanged:
                    plan.staged[entry["path"]] = self._stage(entry["sha256"], staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return plan

    def _stage(self, digest: str, staging: Path) -> Path:
        source = self._object(digest)
        fd, temp = tempfile.mkstemp(dir=staging)
        hasher = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                while chunk := src.read(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
        except FileNotFoundError:
            raise SnapshotError(f"the snapshot's content {digest[:12]} is missing from the store") from None
        if hasher.hexdigest() != digest:
            raise SnapshotError(f"the snapshot's content {digest[:12]} failed its checksum: it was changed or damaged")
        return Path(temp)

    def _apply(
        self,
        tree: str,
        base: Path,
        entries: list[dict[str, Any]],
        plan: _Plan,
        owner: tuple[int, int] | None,
        fresh: dict[tuple[str, str], _Seen],
    ) -> None:
        wanted = {entry["path"]: entry for entry in entries}
        # Away with what the snapshot does not have, or has as another type (deepest paths first).
        for path in sorted(_all_paths(base), key=lambda p: p.count("/"), reverse=True):
            entry = wanted.get(path)
            current = _lstat(base / path)
            if current is None:
                continue
            if entry is None or entry["type"] != _kind(current.st_mode):
                _remove(base / path, current)
        for entry in entries:  # parents come before their children: the walk listed them so
            target = base / entry["path"]
            if entry["type"] == "dir":
                if _lstat(target) is None:
                    target.mkdir(mode=0o700)
            elif entry["type"] == "symlink":
                current = _lstat(target)
                if current is not None and os.readlink(target) != entry["target"]:
                    target.unlink()
                    current = None
                if current is None:
                    os.symlink(entry["target"], target)
            elif entry["path"] in plan.staged:
                os.replace(plan.staged[entry["path"]], target)
            if owner is not None:
                os.lchown(target, *owner)
            if entry["type"] != "symlink":
                os.chmod(target, entry["mode"])
            if entry["type"] == "file":
                os.utime(target, ns=(entry["mtime_ns"], entry["mtime_ns"]))
                st = target.lstat()
                fresh[(tree, entry["path"])] = _Seen(st.st_ino, st.st_ctime_ns, st.st_size, entry["sha256"])
        for entry in reversed(entries):  # directory mtimes last: filling them changed them
            if entry["type"] == "dir":
                os.utime(base / entry["path"], ns=(entry["mtime_ns"], entry["mtime_ns"]))

    # -- deleting -----------------------------------------------------------------------------------
    def delete(self, sandbox_id: str, snapshot_id: str) -> None:
        with self._lock:
            if not _is_id(snapshot_id) or not self._manifest_path(sandbox_id, snapshot_id).exists():
                raise SnapshotNotFound(f"no snapshot {snapshot_id!r} of sandbox {sandbox_id}")
            self._manifest_path(sandbox_id, snapshot_id).unlink()
            self._collect_garbage()

    def drop_sandbox(self, sandbox_id: str) -> None:
        """Every snapshot of a sandbox, and the content no other snapshot holds."""
        with self._lock:
            shutil.rmtree(self._manifests(sandbox_id), ignore_errors=True)
            self._seen.pop(sandbox_id, None)
            self._collect_garbage()

    def _enforce_cap(self, sandbox_id: str) -> None:
        infos = self.list_snapshots(sandbox_id)
        excess = len(infos) - self.max_per_sandbox
        if excess <= 0:
            return
        for info in [i for i in infos if not i.pinned][:excess]:
            self._manifest_path(sandbox_id, info.id).unlink(missing_ok=True)
        self._collect_garbage()

    def _collect_garbage(self) -> None:
        """Remove content no manifest names (a scan of every manifest: snapshots are few)."""
        live: set[str] = set()
        for manifest in (self.root / "sandboxes").glob("*/*.json"):
            try:
                document = json.loads(manifest.read_bytes())
            except (OSError, ValueError):
                continue
            for entries in document.get("trees", {}).values():
                live.update(entry["sha256"] for entry in entries if entry.get("type") == "file")
        objects = self._objects()
        for folder in objects.glob("??"):
            for item in folder.iterdir():
                if folder.name + item.name not in live:
                    item.unlink(missing_ok=True)


@dataclass
class _Plan:
    staging: Path
    staged: dict[str, Path]


def _digest_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.rename(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _is_id(value: str) -> bool:
    return 0 < len(value) <= 64 and value.isalnum()


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except FileNotFoundError:
        return None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "file" if stat.S_ISREG(mode) else "other"


def _remove(path: Path, st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        path.unlink()


def _all_paths(base: Path) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(base):
        rel = os.path.relpath(dirpath, base)
        for name in [*dirnames, *filenames]:
            found.append(name if rel == "." else f"{rel}/{name}")
    return found
