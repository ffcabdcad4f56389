"""The sandbox's end of the egress proxy. stdlib only.

A sandbox without network has only loopback; the host's egress proxy (``airlock.policy.egress``)
reaches it as a Unix socket bound into the sandbox (``AIRLOCK_EGRESS_SOCKET``). Tools expect an HTTP
proxy on TCP (``HTTP_PROXY=http://127.0.0.1:3128``), so the agent listens on 127.0.0.1 at
``AIRLOCK_EGRESS_PORT`` and copies each connection byte for byte to that socket. It decides nothing:
the host's proxy checks every request.

It runs in the agent's own loop (the agent must stay single-threaded: it forks), never blocking: a
side whose peer cannot take more is not read until the peer drains. The agent's children close
these sockets (``procs.child_setup`` closes every descriptor they were not given).
"""

from __future__ import annotations

import _socket
import os
import select

TYPE_CHECKING = False  # typing itself is not imported: the agent starts faster without it
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Protocol

    class _Loop(Protocol):
        poll: select.epoll

        def add_reader(self, fd: int, callback: Callable[[], None]) -> None: ...

        def remove_reader(self, fd: int) -> None: ...

        def call_later(self, delay: float, callback: Callable[[], None]) -> object: ...


__all__ = ["DEFAULT_PORT", "Forwarder", "start"]

DEFAULT_PORT = 3128
_MAX_CONNECTIONS = 256
_CHUNK = 65536
_IN, _OUT = select.EPOLLIN, select.EPOLLOUT


def start(loop: _Loop, environ: Mapping[str, str]) -> Forwarder | None:
    """The forwarder, if the sandbox has an egress proxy; a failure is logged, not fatal."""
    path = environ.get("AIRLOCK_EGRESS_SOCKET")
    if not path:
        return None
    try:
        return Forwarder(loop, path, int(environ.get("AIRLOCK_EGRESS_PORT") or DEFAULT_PORT))
    except (OSError, ValueError) as exc:
        os.write(2, f"airlock agent: no egress forwarder: {exc}\n".encode())
        return None


class Forwarder:
    """Accepts on 127.0.0.1:``port``; each connection is paired with one to the proxy at ``path``."""

    def __init__(self, loop: _Loop, path: str, port: int) -> None:
        self.loop = loop
        self.path = path
        self.links: set[_Link] = set()
        self.listener = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        try:
            self.listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            self.listener.bind(("127.0.0.1", port))
            self.listener.listen(128)
            self.listener.setblocking(False)
        except OSError:
            self.listener.close()
            raise
        loop.add_reader(self.listener.fileno(), self._accept)

    def _accept(self) -> None:
        while True:
            try:
                fd, _ = self.listener._accept()  # type: ignore[attr-defined]  # not in typeshed
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of descriptors: a pending connection would wake the loop at once
                self.loop.remove_reader(self.listener.fileno())
                self.loop.call_later(0.1, lambda: self.loop.add_reader(self.listener.fileno(), self._accept))
                return
            client = _socket.socket(fileno=fd)
            if len(self.links) >= _MAX_CONNECTIONS:
                client.close()
                continue
            upstream = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            try:
                client.setblocking(False)
                upstream.setblocking(False)
                upstream.connect(self.path)  # a Unix socket connects at once, or not at all
            except OSError:
                client.close()
                upstream.close()
                continue
            _Link(self, client, upstream)

    def close(self) -> None:
        for link in list(self.links):
            link.close()
        self.loop.remove_reader(self.listener.fileno())
        self.listener.close()


class _Side:
    """One socket of a link and what is waiting to be written to it."""

    __slots__ = ("eof", "fd", "mask", "pending", "shut", "sock")

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.pending = b""  # read from the other side, not yet taken by this one
        self.eof = False  # this side will send nothing more
        self.shut = False  # told that the other side will send nothing more
        self.mask = 0  # the events the loop watches for (0: not registered)


class _Link:
    """A client's connection and its twin to the proxy, copied both ways."""

    def __init__(self, forwarder: Forwarder, client: _socket.socket, upstream: _socket.socket) -> None:
        self.forwarder = forwarder
        self.sides = (_Side(client), _Side(upstream))
        self.callback = self.service
        forwarder.links.add(self)
        self.service()

    def service(self) -> None:
        """Move what can move without blocking, in both directions; then watch what is needed."""
        try:
            for source, target in (self.sides, self.sides[::-1]):
                if target.pending:
                    target.pending = target.pending[_send(target.sock, target.pending) :]
                if not target.pending and not source.eof:
                    self._read(source, target)
                if source.eof and not target.pending and not target.shut:
                    target.sock.shutdown(_socket.SHUT_WR)
                    target.shut = True
        except OSError:  # reset, broken pipe: both ends go
            self.close()
            return
        if all(side.shut for side in self.sides):
            self.close()
            return
        for side, other in (self.sides, self.sides[::-1]):
            self._watch(side, (_IN if not side.eof and not other.pending else 0) | (_OUT if side.pending else 0))

    def _read(self, source: _Side, target: _Side) -> None:
        try:
            data = source.sock.recv(_CHUNK)
        except BlockingIOError:
            return
        if not data:
            source.eof = True
            return
        target.pending = data[_send(target.sock, data) :]

    def _watch(self, side: _Side, mask: int) -> None:
        if mask == side.mask:
            return
        if side.mask == 0:
            self.forwarder.loop.add_reader(side.fd, self.callback)
            if mask != _IN:
                self.forwarder.loop.poll.modify(side.fd, mask)
        elif mask == 0:  # unregistered, or a hung-up socket would wake the loop again and again
            self.forwarder.loop.remove_reader(side.fd)
        else:
            self.forwarder.loop.poll.modify(side.fd, mask)
        side.mask = mask

    def close(self) -> None:
        for side in self.sides:
            if side.mask:
                self.forwarder.loop.remove_reader(side.fd)
                side.mask = 0
            side.sock.close()
        self.forwarder.links.discard(self)


def _send(sock: _socket.socket, data: bytes) -> int:
    try:
        return sock.send(data)
    except BlockingIOError:
        return 0
