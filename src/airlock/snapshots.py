"""Filesystem snapshots: content-addressed, checksummed, written atomically, restored byte for byte.

A snapshot is a manifest — every path of the trees it covers, with its type, mode, mtime and size,
and for a file the SHA-256 of its content — plus the content, kept once per digest under
``objects/`` and shared by every snapshot (and every sandbox) that holds it.

Taking one reads and copies only what changed since the sandbox's last snapshot or restore: a file
whose inode, ctime and size are what they were then is unchanged (code in a sandbox can set a
file's mtime, never its ctime) and is not even opened, unless it had changed in the last few
milliseconds before (the kernel's clock for ctime is coarse). So a snapshot costs time in proportion
to what changed, plus one ``lstat`` per path, not in proportion to the workspace's size. Objects and
manifests are written to a temporary file, fsynced and renamed into place: a crash leaves the
earlier snapshots whole. A manifest is three lines: a header (its format and the SHA-256 of the
rest), the snapshot's info, and its listing; listing snapshots reads the first two.

Restoring first checks the manifest's own digest and the digest of every object it needs, copies
those into a staging directory beside the tree, and only then changes the tree: a tampered or
incomplete snapshot is refused before anything is touched. It changes only what differs from the
snapshot (one ``lstat`` per path tells), so it too costs what changed plus a little per path. A
failure while the tree is being changed raises ``SnapshotError`` with ``partial=True``; the caller
must not let that sandbox run until it is restored again or destroyed.

    store = SnapshotStore(home / "snapshots")
    info = store.take(sandbox_id, {"workspace": path}, name="before", owner=(uid, gid))
    store.restore(info.id, {"workspace": path}, owner=(uid, gid))
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict, Field

from airlock.errors import SnapshotError, SnapshotNotFound
from airlock.models import new_ulid

__all__ = ["DEFAULT_MAX_SNAPSHOTS", "SnapshotInfo", "SnapshotStore"]

DEFAULT_MAX_SNAPSHOTS = 10
_CHUNK = 1 << 20
_FORMAT = 2
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
#: The fields of a manifest entry, by type.
_FIELDS = {
    "dir": {"path", "type", "mode", "mtime_ns"},
    "symlink": {"path", "type", "mode", "mtime_ns", "target"},
    "file": {"path", "type", "mode", "mtime_ns", "size", "sha256"},
}
_SHA256 = re.compile("[0-9a-f]{64}")
#: A file changed this shortly before it was looked at may change again within the same tick of the
#: kernel's coarse clock and keep its ctime: next time its content is checked, not trusted.
_RACY_NS = 20_000_000

_Entry = dict[str, Any]


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
    racy: bool  # changed just before it was looked at: only its content can tell

    @classmethod
    def of(cls, st: os.stat_result, digest: str, since: int) -> _Seen:
        """``since``: a time before ``st`` was taken."""
        return cls(st.st_ino, st.st_ctime_ns, st.st_size, digest, st.st_ctime_ns > since - _RACY_NS)

    def matches(self, st: os.stat_result) -> bool:
        return (self.ino, self.ctime_ns, self.size) == (st.st_ino, st.st_ctime_ns, st.st_size)


@dataclass
class _Tally:
    """What one take has found so far."""

    seen: dict[tuple[str, str], _Seen]  # the files as the last snapshot or restore left them
    started: int = field(default_factory=time.time_ns)  # files changed shortly before are racy
    fresh: dict[tuple[str, str], _Seen] = field(default_factory=dict)  # ... and as this one finds them
    files: int = 0
    bytes: int = 0
    new_bytes: int = 0
    skipped: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    """One tree's restore, worked out and its content staged and verified before anything changes."""

    tree: str
    base: str
    started: int  # before any file was looked at: what changed shortly before is racy
    entries: list[_Entry]
    current: dict[str, os.stat_result]  # the paths the snapshot has as the same type, as they are now
    extra: list[tuple[str, os.stat_result]]  # the top-most paths it does not have (or as another type)
    staging: Path | None = None
    staged: dict[str, str] = field(default_factory=dict)  # path -> its verified content, staged


class SnapshotStore:
    """Snapshots of sandboxes' trees under ``root``; its methods block (run them in a thread)."""

    def __init__(self, root: Path, *, max_per_sandbox: int = DEFAULT_MAX_SNAPSHOTS) -> None:
        self.root = root
        self.max_per_sandbox = max_per_sandbox
        #: Per sandbox, its files as its last snapshot or restore saw them (after a restart: nothing,
        #: so the next snapshot reads every file once).
        self._seen: dict[str, dict[tuple[str, str], _Seen]] = {}
        #: Digests this store wrote or verified and has not collected since, so a snapshot need not
        #: look each unchanged file's object up. Should one vanish behind its back, the snapshots
        #: naming it are refused on restore (every object is verified), never restored wrong.
        self._present: set[str] = set()
        self._named: dict[str, frozenset[str]] = {}  # manifest -> the content it names, as read once
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
            tally = _Tally(seen=self._seen.get(sandbox_id, {}))
            listing = {tree: self._walk(tree, base, tally) for tree, base in trees.items()}
            info = SnapshotInfo(
                id=new_ulid().lower(),
                sandbox_id=sandbox_id,
                name=name,
                created_at=datetime.now(UTC),
                pinned=pinned,
                files=tally.files,
                bytes=tally.bytes,
                new_bytes=tally.new_bytes,
                skipped=tally.skipped,
                meta=dict(meta or {}),
            )
            self._manifests(sandbox_id).mkdir(parents=True, exist_ok=True, mode=0o700)
            manifest = self._manifest_path(sandbox_id, info.id)
            _write_atomically(manifest, _encode(info, listing))
            self._named[str(manifest)] = _named_in(listing)
            self._seen[sandbox_id] = tally.fresh
            self._enforce_cap(sandbox_id)
            return info

    def _walk(self, tree: str, base: Path, tally: _Tally) -> list[_Entry]:
        """Every path under ``base``, parents before children."""
        entries: list[_Entry] = []

        def visit(path: str, name: str, parent: int) -> bool:
            entry = self._entry((tree, path), name, parent, tally)
            if entry is None:
                tally.skipped.append(f"{tree}/{path}")
                return False
            entries.append(entry)
            return bool(entry["type"] == "dir")

        _visit_tree(base, visit)
        return entries

    def _entry(self, key: tuple[str, str], name: str, parent: int, tally: _Tally) -> _Entry | None:
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        kind = _kind(st.st_mode)
        if kind == "file":
            return self._file_entry(key, name, parent, st, tally)
        if kind == "symlink":
            return _described(key[1], kind, st) | {"target": os.readlink(name, dir_fd=parent)}
        return _described(key[1], kind, st) if kind == "dir" else None

    def _file_entry(
        self, key: tuple[str, str], name: str, parent: int, st: os.stat_result, tally: _Tally
    ) -> _Entry | None:
        """A regular file: known by its ``lstat`` if unchanged since last seen, else read and stored."""
        known = tally.seen.get(key)
        if known is None or known.racy or not known.matches(st) or known.digest not in self._present:
            fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
            with open(fd, "rb") as source:
                st = os.fstat(fd)  # the inode that is read, whatever the name points to by now
                if not stat.S_ISREG(st.st_mode):
                    return None
                digest, copied = self._store_object(source)
            known = _Seen.of(st, digest, tally.started)
            tally.new_bytes += copied
        tally.fresh[key] = known
        tally.files += 1
        tally.bytes += known.size
        return _described(key[1], "file", st) | {"size": known.size, "sha256": known.digest}

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
                size = 0
            else:
                target.parent.mkdir(exist_ok=True, mode=0o700)
                os.chmod(temp, 0o400)
                os.rename(temp, target)
            self._present.add(digest)
            return digest, size
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    # -- reading ------------------------------------------------------------------------------------
    def list_snapshots(self, sandbox_id: str) -> list[SnapshotInfo]:
        """The sandbox's snapshots, oldest first (ids are time-ordered)."""
        folder = self._manifests(sandbox_id)
        if not folder.is_dir():
            return []
        infos = []
        for path in sorted(folder.glob("*.json")):
            try:
                with path.open("rb") as manifest:
                    if _header(manifest.readline()) is not None:
                        infos.append(SnapshotInfo.model_validate_json(manifest.readline()))
            except (OSError, ValueError):
                continue  # a damaged manifest is not listed; restoring it by id reports why
        return infos

    def get(self, sandbox_id: str, snapshot_id: str) -> SnapshotInfo:
        return self._load(sandbox_id, snapshot_id)[0]

    def _load(self, sandbox_id: str, snapshot_id: str) -> tuple[SnapshotInfo, dict[str, list[_Entry]]]:
        """The manifest's info and listing, checked against its digest and for a well-formed listing."""
        if not _is_id(snapshot_id) or not _is_id(sandbox_id):
            raise SnapshotNotFound(f"no snapshot {snapshot_id!r} of sandbox {sandbox_id}")
        try:
            raw = self._manifest_path(sandbox_id, snapshot_id).read_bytes()
        except FileNotFoundError:
            raise SnapshotNotFound(f"no snapshot {snapshot_id!r} of sandbox {sandbox_id}") from None
        except OSError as exc:
            raise SnapshotError(f"snapshot {snapshot_id} is unreadable: {exc}") from exc
        head, _, body = raw.partition(b"\n")
        header = _header(head)
        unreadable = SnapshotError(f"snapshot {snapshot_id} is not a snapshot this Airlock can read")
        if header is None:
            raise unreadable
        if header["digest"] != hashlib.sha256(body).hexdigest():
            raise SnapshotError(f"snapshot {snapshot_id} failed its checksum: its manifest was changed or damaged")
        info_line, _, listing_line = body.partition(b"\n")
        try:
            info = SnapshotInfo.model_validate_json(info_line)
            listing = json.loads(listing_line)
        except ValueError:
            raise unreadable from None
        if not isinstance(listing, dict) or not all(_valid_listing(entries) for entries in listing.values()):
            raise unreadable
        return info, listing

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
            info, listing = self._load(sandbox_id, snapshot_id)
            if set(trees) != set(listing):
                raise SnapshotError(f"snapshot {snapshot_id} covers {sorted(listing)}, not {sorted(trees)}")
            target = into or sandbox_id
            seen = self._seen.get(target, {})
            plans: list[_Plan] = []
            fresh: dict[tuple[str, str], _Seen] = {}
            try:
                try:
                    for tree, base in trees.items():
                        plans.append(self._plan(tree, base, listing[tree], seen))
                except OSError as exc:  # nothing changed yet: a full disk while staging, say
                    raise SnapshotError(f"restoring snapshot {snapshot_id} failed before any change: {exc}") from exc
                try:
                    for plan in plans:
                        _apply(plan, owner, fresh)
                except OSError as exc:
                    message = f"restoring snapshot {snapshot_id} failed part way: {exc}"
                    raise SnapshotError(message, partial=True) from exc
            finally:
                for plan in plans:
                    if plan.staging is not None:
                        shutil.rmtree(plan.staging, ignore_errors=True)
            self._seen[target] = fresh
            return info

    def _plan(self, tree: str, base: Path, entries: list[_Entry], seen: dict[tuple[str, str], _Seen]) -> _Plan:
        """What differs, with each file whose content must come back staged (and verified) beside
        the tree: on the same filesystem, so putting it in place is an atomic rename."""
        started = time.time_ns()
        current, extra = _survey(base, {entry["path"]: entry["type"] for entry in entries})
        plan = _Plan(tree, str(base), started, entries, current, extra)
        try:
            for entry in entries:
                if entry["type"] != "file":
                    continue
                known, st = seen.get((tree, entry["path"])), current.get(entry["path"])
                if (
                    known is not None
                    and st is not None
                    and known.digest == entry["sha256"]
                    and known.matches(st)
                    and (not known.racy or _digest_of(f"{base}/{entry['path']}") == known.digest)
                ):
                    continue  # its content is the snapshot's: it is not copied
                if plan.staging is None:
                    plan.staging = Path(tempfile.mkdtemp(prefix=".airlock-restore-", dir=base.parent))
                plan.staged[entry["path"]] = self._stage(entry["sha256"], plan.staging)
        except BaseException:
            if plan.staging is not None:
                shutil.rmtree(plan.staging, ignore_errors=True)
            raise
        return plan

    def _stage(self, digest: str, staging: Path) -> str:
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
        self._present.add(digest)
        return temp

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
        doomed = [self._manifest_path(sandbox_id, info.id) for info in infos if not info.pinned][:excess]
        held = set().union(*(self._names(manifest) for manifest in doomed))
        for manifest in doomed:
            manifest.unlink(missing_ok=True)
        self._collect_garbage(held, prefer=sandbox_id)

    def _collect_garbage(self, candidates: set[str] | None = None, *, prefer: str = "") -> None:
        """Remove the content no manifest names: of ``candidates`` (what deleted snapshots held, so
        the cost is theirs, not the store's), or of every object (which also clears what a snapshot
        that failed part way had stored)."""
        manifests = sorted(  # ``prefer``'s and the newest first: they are likeliest to hold it
            self.root.glob("sandboxes/*/*.json"), key=lambda m: (m.parent.name == prefer, m.name), reverse=True
        )
        named = [self._names(manifest) for manifest in manifests]
        self._named = {str(manifest): names for manifest, names in zip(manifests, named, strict=True)}
        if candidates is None:
            candidates = {folder.name + item.name for folder in self._objects().glob("??") for item in folder.iterdir()}
        for digest in candidates:
            if not any(digest in names for names in named):
                self._object(digest).unlink(missing_ok=True)
                self._present.discard(digest)

    def _names(self, manifest: Path) -> frozenset[str]:
        """The content a manifest names, read once (a manifest is never rewritten); nothing if it
        cannot be read (it cannot be restored either)."""
        if str(manifest) not in self._named:
            try:
                self._named[str(manifest)] = _named_in(json.loads(manifest.read_bytes().split(b"\n")[2]))
            except (OSError, ValueError, IndexError, KeyError, TypeError, AttributeError):
                self._named[str(manifest)] = frozenset()
        return self._named[str(manifest)]


# -- restoring, step by step ---------------------------------------------------------------------------
def _survey(base: Path, wanted: dict[str, str]) -> tuple[dict[str, os.stat_result], list[tuple[str, os.stat_result]]]:
    """The tree as it is, one ``lstat`` per path: the paths ``wanted`` (path -> type) has as the same
    type, and the top-most ones it does not have or has as another type, which must go."""
    current: dict[str, os.stat_result] = {}
    extra: list[tuple[str, os.stat_result]] = []

    def visit(path: str, name: str, parent: int) -> bool:
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        if wanted.get(path) != _kind(st.st_mode):
            extra.append((path, st))  # and not what is under it: it goes as a whole
            return False
        current[path] = st
        return stat.S_ISDIR(st.st_mode)

    _visit_tree(base, visit)
    return current, extra


def _apply(plan: _Plan, owner: tuple[int, int] | None, fresh: dict[tuple[str, str], _Seen]) -> None:
    """Make the tree what the snapshot holds, touching only what differs; ``fresh`` gets its files as
    they are left (their inode and ctime change with every rename, chmod, chown or utime)."""
    emptied_or_filled: set[str] = set()  # directories whose listing changed, and with it their mtime
    for path, gone in plan.extra:
        if stat.S_ISDIR(gone.st_mode):
            shutil.rmtree(f"{plan.base}/{path}")
        else:
            os.unlink(f"{plan.base}/{path}")
        emptied_or_filled.add(path.rpartition("/")[0])
    for entry in plan.entries:  # parents come before their children: the walk listed them so
        path = entry["path"]
        target = f"{plan.base}/{path}"
        st = plan.current.get(path)
        made = _put(entry, target, st, plan.staged)
        if made:
            emptied_or_filled.add(path.rpartition("/")[0])
        settled = _settle(entry, target, None if made else st, owner)
        if entry["type"] == "file":
            if made or settled or st is None:
                st = os.lstat(target)
            fresh[(plan.tree, path)] = _Seen.of(st, entry["sha256"], plan.started)
    for entry in reversed(plan.entries):  # directory mtimes last: filling them changed them
        before = plan.current.get(entry["path"])
        if entry["type"] == "dir" and (
            before is None or before.st_mtime_ns != entry["mtime_ns"] or entry["path"] in emptied_or_filled
        ):
            os.utime(f"{plan.base}/{entry['path']}", ns=(entry["mtime_ns"], entry["mtime_ns"]))


def _put(entry: _Entry, target: str, st: os.stat_result | None, staged: dict[str, str]) -> bool:
    """Create ``target``, or replace it if its content or link target differs; whether it did."""
    if entry["type"] == "file":
        if entry["path"] not in staged:
            return False
        os.replace(staged[entry["path"]], target)
    elif entry["type"] == "dir":
        if st is not None:
            return False
        os.mkdir(target, 0o700)
    else:
        if st is not None:
            if os.readlink(target) == entry["target"]:
                return False
            os.unlink(target)
        os.symlink(entry["target"], target)
    return True


def _settle(entry: _Entry, target: str, st: os.stat_result | None, owner: tuple[int, int] | None) -> bool:
    """Put back owner, mode and (but for a directory: later) mtime where they differ from ``st``,
    None for what was just made; whether anything was changed."""
    changed = False
    if owner is not None and (st is None or (st.st_uid, st.st_gid) != owner):
        os.lchown(target, *owner)
        changed = True
    # after a chown too: it clears the setuid and setgid bits
    if entry["type"] != "symlink" and (changed or st is None or stat.S_IMODE(st.st_mode) != entry["mode"]):
        os.chmod(target, entry["mode"])
        changed = True
    if entry["type"] != "dir" and (st is None or st.st_mtime_ns != entry["mtime_ns"]):
        os.utime(target, ns=(entry["mtime_ns"], entry["mtime_ns"]), follow_symlinks=False)
        changed = True
    return changed


def _digest_of(path: str) -> str:
    with open(os.open(path, _FILE_FLAGS), "rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


def _described(path: str, kind: str, st: os.stat_result) -> _Entry:
    return {"path": path, "type": kind, "mode": stat.S_IMODE(st.st_mode), "mtime_ns": st.st_mtime_ns}


def _visit_tree(base: Path, visit: Callable[[str, str, int], bool]) -> None:
    """``visit(path, name, parent directory's fd)`` every path under ``base``, parents first, going
    into a directory when it says so. Each step is relative to an open directory and never follows
    a symlink, so code in the sandbox swapping a directory for a link while this runs cannot make it
    read anything outside the tree."""
    stack = [("", os.open(base, _DIR_FLAGS))]
    try:
        while stack:
            rel, fd = stack.pop()
            try:
                with os.scandir(fd) as scan:
                    names = sorted(entry.name for entry in scan)
                for name in names:
                    path = f"{rel}/{name}" if rel else name
                    with contextlib.suppress(FileNotFoundError):  # gone since the listing
                        if visit(path, name, fd):
                            stack.append((path, os.open(name, _DIR_FLAGS, dir_fd=fd)))
            finally:
                os.close(fd)
    finally:
        for _, fd in stack:
            os.close(fd)


# -- manifests ---------------------------------------------------------------------------------------------
def _encode(info: SnapshotInfo, listing: dict[str, list[_Entry]]) -> bytes:
    body = info.model_dump_json().encode() + b"\n" + json.dumps(listing).encode() + b"\n"
    header = json.dumps({"format": _FORMAT, "digest": hashlib.sha256(body).hexdigest()})
    return header.encode() + b"\n" + body


def _header(line: bytes) -> dict[str, Any] | None:
    """A manifest's first line, if it is one of the format this module writes."""
    try:
        header = json.loads(line)
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("format") != _FORMAT or not isinstance(header.get("digest"), str):
        return None
    return header


def _valid_listing(entries: Any) -> bool:
    """Whether restore can follow ``entries``: known types with their fields, names that stay inside
    the tree, each listed once and after its parent directory."""
    if not isinstance(entries, list):
        return False
    dirs, paths = {""}, set()
    for entry in entries:
        if not _valid_entry(entry):
            return False
        path = entry["path"]
        parent, _, name = path.rpartition("/")
        if parent not in dirs or path in paths or name in ("", ".", "..") or "\0" in name or path[0] == "/":
            return False
        paths.add(path)
        if entry["type"] == "dir":
            dirs.add(path)
    return True


def _valid_entry(entry: Any) -> bool:
    """Its type's fields, each of the type restore uses it as; a usable link target and digest."""
    kind = entry.get("type") if type(entry) is dict else None
    if type(kind) is not str or entry.keys() != _FIELDS.get(kind):
        return False
    if type(entry["path"]) is not str or type(entry["mode"]) is not int or type(entry["mtime_ns"]) is not int:
        return False
    if kind == "file":
        return type(entry["size"]) is int and type(entry["sha256"]) is str and bool(_SHA256.fullmatch(entry["sha256"]))
    if kind == "symlink":
        return type(entry["target"]) is str and entry["target"] != "" and "\0" not in entry["target"]
    return True


def _named_in(listing: dict[str, list[_Entry]]) -> frozenset[str]:
    return frozenset(
        entry["sha256"] for entries in listing.values() for entry in entries if entry.get("type") == "file"
    )


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


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "file" if stat.S_ISREG(mode) else "other"
