"""Unix sockets that Airlock serves to one sandbox (its egress proxy, its model bridge): bound so
that only the sandbox's uid may connect, and closed without minding a peer that went away."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from pathlib import Path

__all__ = ["SUN_PATH_MAX", "bind_private", "close_writer"]

SUN_PATH_MAX = 107  #: bytes of a Unix socket's path, without its terminating NUL


def bind_private(path: Path, owner: tuple[int, int] | None) -> socket.socket:
    """A non-blocking Unix socket bound at ``path``, mode 0600 and ``owner``'s (uid, gid) before it
    listens, so nobody else may ever connect. A path too long for ``sun_path`` is bound through its
    folder's descriptor. On failure nothing is left at ``path``."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if len(os.fsencode(path)) <= SUN_PATH_MAX:
            sock.bind(str(path))
        else:
            folder = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                sock.bind(f"/proc/self/fd/{folder}/{path.name}")
            finally:
                os.close(folder)
        os.chmod(path, 0o600)
        if owner is not None:
            os.chown(path, *owner)
    except BaseException:
        sock.close()
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return sock


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close a connection; a peer that is already gone is no error."""
    writer.close()
    with contextlib.suppress(OSError, asyncio.CancelledError):
        await writer.wait_closed()
