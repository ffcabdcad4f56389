"""File operations in the sandbox's workspace (and its scratch space), binary-safe. stdlib only.

A relative path is taken from the workspace. Every path must resolve, symlinks followed, inside the
workspace or the scratch space: a link that points out of them is refused, even on backends whose
processes could reach further.
"""

from __future__ import annotations

import os
import stat

from protocol import RequestError, decode_bytes, encode_bytes

TYPE_CHECKING = False  # typing itself is not imported: the agent starts faster without it
if TYPE_CHECKING:
    from typing import Any

    from main import Agent

__all__ = ["delete", "empty", "listdir", "mkdir", "read", "write"]

FileOpError = RequestError


def _resolve(agent: Agent, path: str) -> str:
    if not isinstance(path, str) or not path or "\0" in path:
        raise FileOpError("InvalidPath", f"invalid path {path!r}")
    full = os.path.realpath(os.path.join(agent.workspace, path))
    for root in (agent.workspace, agent.scratch):
        root = os.path.realpath(root)
        if full == root or full.startswith(root + os.sep):
            return full
    raise FileOpError("PathOutsideWorkspace", f"{path!r} is outside the sandbox's workspace")


def _oserror(exc: OSError, path: str) -> FileOpError:
    kinds = {
        2: "FileNotFound",
        13: "PermissionDenied",
        17: "FileExists",
        20: "NotADirectory",
        21: "IsADirectory",
        28: "NoSpace",
        39: "DirectoryNotEmpty",
        122: "NoSpace",
    }
    return FileOpError(kinds.get(exc.errno or 0, "FileError"), f"{path}: {exc.strerror}")


def write(agent: Agent, message: dict[str, Any]) -> dict[str, Any]:
    path = message["path"]
    data = decode_bytes(message["b64"])
    if len(data) > agent.max_file_bytes:
        raise FileOpError("FileTooLarge", f"{len(data)} bytes exceeds the limit of {agent.max_file_bytes}")
    full = _resolve(agent, path)
    try:
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if message.get("append"):
            with open(full, "ab") as file:
                file.write(data)
        else:  # write a sibling, then rename: a reader never sees half a file
            partial = f"{full}.airlock-partial-{os.getpid()}"
            with open(partial, "wb") as file:
                file.write(data)
            os.chmod(partial, int(message.get("mode", 0o644)) & 0o777)
            os.replace(partial, full)
    except OSError as exc:
        raise _oserror(exc, path) from exc
    return {"path": full, "size": os.path.getsize(full)}


def read(agent: Agent, message: dict[str, Any]) -> dict[str, Any]:
    path = message["path"]
    full = _resolve(agent, path)
    offset = int(message.get("offset", 0))
    length = int(message.get("length", agent.max_file_bytes))
    try:
        with open(full, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if message.get("length") is None and size - offset > agent.max_file_bytes:
                raise FileOpError(
                    "FileTooLarge", f"{path} is {size} bytes; read it in parts of at most {agent.max_file_bytes}"
                )
            file.seek(offset)
            data = file.read(min(length, agent.max_file_bytes))
    except OSError as exc:
        raise _oserror(exc, path) from exc
    return {"b64": encode_bytes(data), "size": size, "eof": offset + len(data) >= size}


def _entry(directory: str, name: str) -> dict[str, Any]:
    info = os.lstat(os.path.join(directory, name))
    name = name.encode(errors="surrogateescape").decode(errors="replace")  # JSON text, whatever the bytes
    kind = (
        "dir"
        if stat.S_ISDIR(info.st_mode)
        else "file"
        if stat.S_ISREG(info.st_mode)
        else "symlink"
        if stat.S_ISLNK(info.st_mode)
        else "other"
    )
    return {
        "name": name,
        "type": kind,
        "size": info.st_size,
        "mode": stat.S_IMODE(info.st_mode),
        "mtime": info.st_mtime,
    }


def listdir(agent: Agent, message: dict[str, Any]) -> dict[str, Any]:
    path = message.get("path") or "."
    full = _resolve(agent, path)
    try:
        return {"path": full, "entries": [_entry(full, name) for name in sorted(os.listdir(full))]}
    except OSError as exc:
        raise _oserror(exc, path) from exc


def delete(agent: Agent, message: dict[str, Any]) -> dict[str, Any]:
    path = message["path"]
    full = _resolve(agent, path)
    if full in (os.path.realpath(agent.workspace), os.path.realpath(agent.scratch)):
        raise FileOpError("PermissionDenied", "the workspace itself cannot be deleted")
    try:
        if os.path.isdir(full) and not os.path.islink(full):
            if message.get("recursive"):
                import shutil

                shutil.rmtree(full)
            else:
                os.rmdir(full)
        else:
            os.unlink(full)
    except OSError as exc:
        raise _oserror(exc, path) from exc
    return {"deleted": full}


def mount_points() -> set[str]:
    """Where something is mounted in this sandbox (from the sandbox's own /proc)."""
    try:
        with open("/proc/self/mountinfo") as mountinfo:
            points = [line.split()[4] for line in mountinfo]
    except (OSError, IndexError):
        return set()
    return {point.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n") for point in points}


def empty(root: str, keep: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Delete everything inside ``root`` (not ``root`` itself) but the mount points in ``keep`` (a
    read-only bind under /usr/local, say) and the folders that lead to them; return what could not
    be deleted."""
    import shutil

    def make_writable(function: Any, path: str, _: Any) -> None:  # a read-only dir stops rmtree
        os.chmod(os.path.dirname(path), 0o700)
        function(path)

    left = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    for entry in entries:
        if entry.path in keep:
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)
            elif any(point.startswith(entry.path + "/") for point in keep):
                left += empty(entry.path, keep)
            else:
                shutil.rmtree(entry.path, onerror=make_writable)
        except OSError:
            left.append(entry.path)
    return left


def mkdir(agent: Agent, message: dict[str, Any]) -> dict[str, Any]:
    path = message["path"]
    full = _resolve(agent, path)
    try:
        os.makedirs(full, exist_ok=True)
    except OSError as exc:
        raise _oserror(exc, path) from exc
    return {"path": full}
