"""The egress proxy: a sandbox's only way out when it has no network.

Each sandbox gets its own ``EgressProxy``, an HTTP proxy on a Unix socket on the host that is bound
into the sandbox (a forwarder in the agent, ``airlock/agent/egress.py``, puts it on the sandbox's
loopback as ``http://127.0.0.1:3128`` for ``HTTP_PROXY``). It serves ``CONNECT host:port`` (a tunnel,
for HTTPS and anything else over TCP) and absolute-form plain HTTP (``GET http://host/path``),
each checked against ``allow_hosts``:

- ``example.com``: that name, any port; ``example.com:8443``: that name and port only;
- ``*.example.com``: every subdomain of example.com (not example.com itself); ``*``: every name;
- ``10.1.2.3``, ``[2001:db8::1]:443``: an IP literal is reached only when listed as that literal.

Names match case-insensitively, without a trailing dot. The list is empty by default: everything is
refused. Even an allowed name is refused when it resolves to an address that is not public
(loopback, private, link-local, multicast, unspecified, reserved), unless the proxy was made with
``allow_private=True`` and the name or that address is listed exactly (not through a wildcard).
The proxy connects to the addresses it checked, so a second DNS answer cannot change them.

Every attempt, allowed or refused, is handed to ``on_attempt`` as an ``EgressAttempt`` (the runtime
writes them to the network audit log); an exception there is logged and changes nothing. Request
bodies are never logged. Limits (``EgressLimits``): a request head over 16 KiB gets 400, one not
complete in 10 s gets 408; reaching the target has 10 s; a tunnel silent for 300 s is closed; past
64 connections at once, 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from airlock.sockets import bind_private, close_writer

__all__ = ["AttemptCallback", "EgressAttempt", "EgressLimits", "EgressProxy", "HostRule", "match_host"]

logger = logging.getLogger(__name__)

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AttemptCallback = Callable[["EgressAttempt"], Awaitable[None] | None]
_Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
#: Headers that belong to the hop between the client and this proxy, never forwarded.
_HOP_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "upgrade"})


@dataclass(frozen=True)
class EgressAttempt:
    """One connection a sandbox asked for, and what the proxy did with it."""

    sandbox_id: str
    host: str
    port: int
    method: str
    allowed: bool
    reason: str
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class EgressLimits:
    """What one proxy allows a sandbox: a request head's size and time, the time to reach the target,
    how long a tunnel may stay silent, and how many connections may be open at once."""

    max_head_bytes: int = 16 * 1024
    head_timeout: float = 10.0
    connect_timeout: float = 10.0
    idle_timeout: float = 300.0
    max_connections: int = 64


class _Refused(Exception):
    """A request the proxy answers with an error status instead of a connection."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# -- the allowlist ----------------------------------------------------------------------------------
def _ip(host: str) -> _IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _normalize(host: str) -> str:
    """A host as rules and requests compare it: lower case, no brackets, no trailing dot."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") and not host.endswith("..") else host


def _valid_name(host: str) -> bool:
    labels = host.split(".")
    return (
        bool(host)
        and len(host) <= 253
        and set(host) <= _NAME_CHARS
        and all(0 < len(label) <= 63 for label in labels)
        # 2130706433, 0x7f.1: IPv4 in forms getaddrinfo accepts but only a literal rule may name
        and not all(label.isdigit() or label.startswith("0x") for label in labels)
    )


def _split_port(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 literal."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"{text!r}: expected [address]:port")
        return host, _port(rest[1:]) if rest else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _port(port)
    return text, None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{text!r} is not a port")
    return int(text)


@dataclass(frozen=True)
class HostRule:
    """One entry of an allowlist, parsed (see the module's docstring for the forms)."""

    host: str
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> HostRule:
        host, port = _split_port(text.strip())
        host = _normalize(host)
        ip = _ip(host)
        if ip is not None:
            return cls(str(ip), port)
        name = host[2:] if host.startswith("*.") else host
        if host != "*" and not _valid_name(name):
            raise ValueError(f"{text!r} is not a host name, *.domain, or IP address (with an optional :port)")
        return cls(host, port)

    @property
    def wildcard(self) -> bool:
        return self.host.startswith("*")

    def matches(self, host: str, port: int) -> bool:
        """Whether a normalized request host (an IP in its canonical form) and port are allowed."""
        if self.port is not None and self.port != port:
            return False
        if _ip(host) is not None or not self.wildcard:
            return host == self.host
        return self.host == "*" or host.endswith(self.host[1:])

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


def _rules(entries: Iterable[str]) -> list[HostRule]:
    rules = []
    for entry in entries:
        try:
            rules.append(HostRule.parse(entry))
        except ValueError as exc:  # checked when set; this one was put in the list afterwards
            logger.warning("egress allowlist: ignoring %s", exc)
    return rules


def match_host(allow_hosts: Iterable[str], host: str, port: int) -> HostRule | None:
    """The first rule of ``allow_hosts`` that lets ``host:port`` through, if any."""
    host = _normalize(host)
    ip = _ip(host)
    host = str(ip) if ip is not None else host
    return next((rule for rule in _rules(allow_hosts) if rule.matches(host, port)), None)


def _public(ip: _IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


# -- requests ---------------------------------------------------------------------------------------
@dataclass
class _Request:
    method: str
    host: str
    port: int
    target: str = ""  # origin-form, for plain HTTP
    version: str = "HTTP/1.1"
    headers: list[tuple[str, str]] = field(default_factory=list)
    authority: str = ""

    def forwarded_head(self) -> bytes:
        """The request as the target gets it: origin-form, Host from the URL, one request per
        connection (each is checked on its own)."""
        lines = [f"{self.method} {self.target} {self.version}", f"Host: {self.authority}"]
        lines += [f"{name}: {value}" for name, value in self.headers if name.lower() not in {"host", *_HOP_HEADERS}]
        lines += ["Connection: close", "", ""]
        return "\r\n".join(lines).encode("latin-1")


def _parse_head(head: bytes) -> _Request:
    lines = head.decode("latin-1").split("\r\n")[:-2]
    parts = lines[0].split(" ") if lines else []
    if len(parts) != 3 or not parts[0].isalpha() or not parts[0].isupper() or not parts[2].startswith("HTTP/1."):
        raise _Refused(400, "not an HTTP/1.x proxy request")
    method, target, version = parts
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or any(c in line for c in "\r\n\0"):
            raise _Refused(400, "malformed header line")
        headers.append((name, value.strip()))
    if method == "CONNECT":
        try:
            host, port = _split_port(target)
        except ValueError:
            host, port = "", None
        if not host or port is None:
            raise _Refused(400, "CONNECT needs host:port")
        return _Request(method, _normalize(host), port, version=version)
    return _absolute(method, target, version, headers)


def _absolute(method: str, target: str, version: str, headers: list[tuple[str, str]]) -> _Request:
    if not target.lower().startswith("http://"):
        if target.lower().startswith("https://"):
            raise _Refused(400, "https:// goes through CONNECT (set HTTPS_PROXY)")
        raise _Refused(400, "this is a proxy: the request target must be an absolute http:// URL")
    try:
        url = urlsplit(target)
        port = url.port or 80
    except ValueError as exc:
        raise _Refused(400, f"bad URL: {exc}") from exc
    if not url.hostname:
        raise _Refused(400, "the URL has no host")
    origin = (url.path or "/") + (f"?{url.query}" if url.query else "")
    authority = url.netloc.rpartition("@")[2]
    return _Request(method, _normalize(url.hostname), port, origin, version, headers, authority)


def _response(status: int, reason: str) -> bytes:
    body = reason.replace("\r", " ").replace("\n", " ")[:500] + "\n"
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
    head += f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n"
    return (head + body).encode()


# -- the proxy --------------------------------------------------------------------------------------
class EgressProxy:
    """The egress proxy of one sandbox, on the Unix socket ``path`` (made by ``start``, removed by
    ``aclose``; it can be started again after). ``allow_hosts`` and ``on_attempt`` may be changed at
    any time; each new connection uses their current value. ``owner``: the (uid, gid) that may
    connect, when not the process running Airlock."""

    def __init__(
        self,
        sandbox_id: str,
        path: Path,
        *,
        allow_hosts: Iterable[str] = (),
        on_attempt: AttemptCallback | None = None,
        allow_private: bool = False,
        owner: tuple[int, int] | None = None,
        limits: EgressLimits | None = None,
    ) -> None:
        self.sandbox_id = sandbox_id
        self.path = path
        self.allow_hosts = list(allow_hosts)
        self.on_attempt = on_attempt
        self.allow_private = allow_private
        self.owner = owner
        self.limits = limits or EgressLimits()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[object]] = set()

    @property
    def allow_hosts(self) -> list[str]:
        return self._allow_hosts

    @allow_hosts.setter
    def allow_hosts(self, entries: Iterable[str]) -> None:
        entries = list(entries)
        for entry in entries:
            HostRule.parse(entry)  # a bad rule is refused here, where the caller can tell
        self._allow_hosts = entries

    @property
    def serving(self) -> bool:
        return self._server is not None

    @property
    def connections(self) -> int:
        return len(self._tasks)

    def reset(self) -> None:
        """For the sandbox's next user: nothing allowed, no tunnel of the last one left open."""
        self.allow_hosts = []
        for task in self._tasks:
            task.cancel()

    async def start(self) -> None:
        """Listen on ``path`` (a stale socket there is replaced); a second call does nothing."""
        if self._server is not None:
            return
        sock = self._bind()
        try:
            self._server = await asyncio.start_unix_server(self._handle, sock=sock, limit=self.limits.max_head_bytes)
        except BaseException:
            sock.close()
            with contextlib.suppress(OSError):
                self.path.unlink()
            raise

    def _bind(self) -> socket.socket:
        with contextlib.suppress(FileNotFoundError):  # a stale socket from an earlier start
            self.path.unlink()
        return bind_private(self.path, self.owner)

    async def aclose(self) -> None:
        """Stop listening, close every open tunnel, remove the socket. Safe to call again."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(OSError):
                self.path.unlink()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    # -- one connection ---------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if len(self._tasks) > self.limits.max_connections:
                reason = f"more than {self.limits.max_connections} connections at once"
                await self._report(_Request("", "", 0), False, reason)
                await _refuse(reader, writer, _Refused(503, reason))
            else:
                await self._serve(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            logger.exception("sandbox %s: egress proxy failed on a connection", self.sandbox_id)
        finally:
            self._tasks.discard(task)
            await close_writer(writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await self._read_request(reader)
        except _Refused as exc:
            if exc.status:  # a connection closed before it asked for anything is no attempt
                await self._report(_Request("", "", 0), False, exc.reason)
                await _refuse(reader, writer, exc)
            return
        try:
            upstream = await self._open(request)
        except _Refused as exc:
            await _refuse(reader, writer, exc)
            return
        try:
            if request.method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream[1].write(request.forwarded_head())
            await self._splice((reader, writer), upstream)
        finally:
            await close_writer(upstream[1])

    async def _read_request(self, reader: asyncio.StreamReader) -> _Request:
        try:
            async with asyncio.timeout(self.limits.head_timeout):
                head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.LimitOverrunError, ValueError) as exc:
            raise _Refused(400, f"request head over {self.limits.max_head_bytes} bytes") from exc
        except asyncio.IncompleteReadError as exc:
            # A connection closed before it asked for anything is no attempt (status 0: silent).
            raise _Refused(400 if exc.partial.strip() else 0, "connection closed mid-request") from exc
        except TimeoutError as exc:
            raise _Refused(408, f"no complete request within {self.limits.head_timeout:g} s") from exc
        return _parse_head(head)

    async def _open(self, request: _Request) -> _Streams:
        """Check the request, resolve its host, connect; the outcome reported once."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.connect_timeout
        try:
            rule = self._check(request)
            async with asyncio.timeout_at(deadline):
                addresses = await self._resolve(request, rule)
        except TimeoutError:
            refusal = _Refused(504, f"cannot resolve {request.host} in time")
        except _Refused as exc:
            refusal = exc
        else:
            return await self._connect(request, rule, addresses, deadline)
        await self._report(request, False, refusal.reason)
        raise refusal

    def _check(self, request: _Request) -> HostRule:
        host = request.host
        if _ip(host) is None and not _valid_name(host):
            raise _Refused(400, f"{host!r} is not a valid host name (use IDNA/punycode for other scripts)")
        if not self.allow_hosts:
            raise _Refused(403, "network access is off for this sandbox: no host is allowed")
        rule = match_host(self.allow_hosts, host, request.port)
        if rule is None:
            raise _Refused(403, f"{host}:{request.port} is not on this sandbox's list of allowed hosts")
        return rule

    async def _resolve(self, request: _Request, rule: HostRule) -> list[_IPAddress]:
        host, port = request.host, request.port
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise _Refused(502, f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos))
        for ip in addresses:
            if _public(ip):
                continue
            listed = not rule.wildcard or any(r.matches(str(ip), port) for r in _rules(self.allow_hosts))
            if not (self.allow_private and listed):
                raise _Refused(403, f"{host} resolves to {ip}, which is not a public address")
        return addresses

    async def _connect(
        self, request: _Request, rule: HostRule, addresses: list[_IPAddress], deadline: float
    ) -> _Streams:
        """A connection to the first address that takes one; reported as allowed either way."""
        allowed = f"allowed by {str(rule)!r}"
        error = "no address"
        try:
            async with asyncio.timeout_at(deadline):
                for ip in addresses:
                    try:
                        streams = await asyncio.open_connection(str(ip), request.port)
                    except OSError as exc:
                        error = exc.strerror or str(exc)
                    else:
                        await self._report(request, True, allowed)
                        return streams
        except TimeoutError:
            error = "timed out"
        await self._report(request, True, f"{allowed}; cannot connect: {error}")
        raise _Refused(504 if error == "timed out" else 502, f"cannot reach {request.host}:{request.port}: {error}")

    async def _splice(self, client: _Streams, upstream: _Streams) -> None:
        """Copy both ways until both ends are done, one fails, or nothing moves for ``idle_timeout``."""
        loop = asyncio.get_running_loop()
        clock = [loop.time()]
        pumps = {asyncio.create_task(_pump(a[0], b[1], clock)) for a, b in ((client, upstream), (upstream, client))}
        pending = set(pumps)
        try:
            while pending:
                left = clock[0] + self.limits.idle_timeout - loop.time()
                if left <= 0:
                    break
                done, pending = await asyncio.wait(pending, timeout=left)
                if any(not task.cancelled() and task.exception() is not None for task in done):
                    break
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    async def _report(self, request: _Request, allowed: bool, reason: str) -> None:
        attempt = EgressAttempt(self.sandbox_id, request.host, request.port, request.method, allowed, reason)
        where = f"{request.method} {request.host}:{request.port}"
        logger.debug(
            "sandbox %s: egress %s %s: %s", self.sandbox_id, where, "allowed" if allowed else "refused", reason
        )
        callback = self.on_attempt
        if callback is None:
            return
        try:
            result = callback(attempt)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("sandbox %s: the egress attempt callback failed", self.sandbox_id)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, clock: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while data := await reader.read(65536):
        clock[0] = loop.time()
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        with contextlib.suppress(OSError, RuntimeError):
            writer.write_eof()


async def _refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, refusal: _Refused) -> None:
    """Answer with the refusal, then read what the client still sends (for a second at most):
    closing on unread data would reset the connection, and the client could lose the answer."""
    writer.write(_response(refusal.status, refusal.reason))
    with contextlib.suppress(OSError, RuntimeError, TimeoutError):
        if writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(1.0):
            left = 1 << 20
            while left > 0 and (data := await reader.read(65536)):
                left -= len(data)
