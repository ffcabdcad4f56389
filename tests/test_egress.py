"""The egress proxy: a sandbox reaches the hosts on its list through it, and nothing else.

Everything here is real: the proxy on a Unix socket, an HTTP server and a TCP echo server on the
host's loopback (at 127.0.0.2, which the sandbox's ``NO_PROXY`` does not name), and bubblewrap
sandboxes whose only way out is the proxy. The proxy runs on the host, so to it 127.0.0.2 is the
host's loopback, a private address: the tests that reach it use ``allow_private``.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from textwrap import dedent

import pytest

from airlock import Runtime, Sandbox, SandboxLimits
from airlock.policy.egress import EgressAttempt, EgressLimits, EgressProxy, HostRule, match_host

HOST = "127.0.0.2"  # the host's loopback, as the proxy sees it; not in the sandbox's NO_PROXY


# -- real servers on the host ---------------------------------------------------------------------
@dataclass
class Upstream:
    http_port: int
    echo_port: int
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.seen.append((self.requestline, {k.lower(): v for k, v in self.headers.items()}))
        body = b"hello from the host\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    seen: list[tuple[str, dict[str, str]]]


@pytest.fixture
def http_server() -> Iterator[_Server]:
    server = _Server((HOST, 0), _Handler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture
async def upstream(http_server: _Server) -> AsyncIterator[Upstream]:
    echo = await asyncio.start_server(_echo, HOST, 0)
    yield Upstream(http_server.server_address[1], echo.sockets[0].getsockname()[1], http_server.seen)
    echo.close()
    await echo.wait_closed()


@pytest.fixture
async def proxy(tmp_path: Path) -> AsyncIterator[tuple[EgressProxy, list[EgressAttempt]]]:
    """A started proxy that may reach the host's loopback, and the attempts it reported."""
    attempts: list[EgressAttempt] = []
    egress = EgressProxy("sb-test", tmp_path / "egress.sock", allow_private=True, on_attempt=attempts.append)
    await egress.start()
    yield egress, attempts
    await egress.aclose()


async def ask(egress: EgressProxy, head: str) -> tuple[int, str]:
    """Send one request head to the proxy; its status and everything it answered."""
    reader, writer = await asyncio.open_unix_connection(str(egress.path))
    try:
        writer.write(head.encode())
        reply = (await asyncio.wait_for(reader.read(), 10)).decode()
    finally:
        writer.close()
        await writer.wait_closed()
    return int(reply.split(" ", 2)[1]), reply


async def tunnel(egress: EgressProxy, target: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_unix_connection(str(egress.path))
    writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 200 Connection established\r\n\r\n"
    return reader, writer


# -- the allowlist --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rules", "host", "port", "allowed"),
    [
        (["example.com"], "example.com", 443, True),
        (["example.com"], "EXAMPLE.com.", 80, True),
        (["Example.COM"], "example.com", 80, True),
        (["example.com"], "www.example.com", 443, False),
        (["example.com"], "example.com.evil.net", 443, False),
        (["example.com:443"], "example.com", 443, True),
        (["example.com:443"], "example.com", 80, False),
        (["*.example.com"], "a.example.com", 443, True),
        (["*.example.com"], "a.b.example.com", 443, True),
        (["*.example.com"], "example.com", 443, False),
        (["*.example.com"], "badexample.com", 443, False),
        (["*.example.com:8443"], "a.example.com", 443, False),
        (["*"], "anything.org", 1, True),
        (["*"], "10.0.0.1", 80, False),  # IP literals only when listed literally
        (["*.0.0.1"], "10.0.0.1", 80, False),
        (["example.com"], "93.184.216.34", 80, False),
        (["10.0.0.1"], "10.0.0.1", 80, True),
        (["10.0.0.1:80"], "10.0.0.1", 81, False),
        (["::1"], "[::1]", 80, True),
        (["[::1]:8080"], "::1", 8080, True),
        (["[::1]:8080"], "::1", 80, False),
        (["2001:db8::1"], "2001:0db8:0:0::1", 443, True),
        ([], "example.com", 443, False),
    ],
)
def test_allowlist_matching(rules: list[str], host: str, port: int, allowed: bool) -> None:
    assert (match_host(rules, host, port) is not None) is allowed


@pytest.mark.parametrize("rule", ["exa mple.com", "example.com:0", "example.com:http", "a..b", "*example.com", ""])
def test_a_bad_rule_is_refused_when_set(rule: str, tmp_path: Path) -> None:
    egress = EgressProxy("sb", tmp_path / "e.sock")
    with pytest.raises(ValueError, match=r"host name|port|expected"):
        egress.allow_hosts = ["good.example", rule]
    assert egress.allow_hosts == []
    assert str(HostRule.parse("[2001:DB8::1]:443")) == "[2001:db8::1]:443"


# -- the proxy on its own -------------------------------------------------------------------------
async def test_an_allowed_plain_http_request_is_forwarded_in_origin_form(
    proxy: tuple[EgressProxy, list[EgressAttempt]], upstream: Upstream
) -> None:
    egress, attempts = proxy
    egress.allow_hosts = [HOST]
    head = (
        f"GET http://{HOST}:{upstream.http_port}/path?q=1 HTTP/1.1\r\nHost: elsewhere.example\r\n"
        "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic c2VjcmV0\r\nX-Kept: yes\r\n\r\n"
    )
    status, reply = await ask(egress, head)
    assert status == 200
    assert reply.endswith("hello from the host\n")
    [(line, headers)] = upstream.requests
    assert line == "GET /path?q=1 HTTP/1.1"
    assert headers["host"] == f"{HOST}:{upstream.http_port}"  # the URL's, not the one sent
    assert headers["connection"] == "close"
    assert headers["x-kept"] == "yes"
    assert "proxy-connection" not in headers
    assert "proxy-authorization" not in headers
    assert attempts == [
        EgressAttempt("sb-test", HOST, upstream.http_port, "GET", True, f"allowed by {HOST!r}", attempts[0].time)
    ]


async def test_connect_tunnels_bytes_both_ways(
    proxy: tuple[EgressProxy, list[EgressAttempt]], upstream: Upstream
) -> None:
    egress, attempts = proxy
    egress.allow_hosts = [f"{HOST}:{upstream.echo_port}"]
    reader, writer = await tunnel(egress, f"{HOST}:{upstream.echo_port}")
    payload = os.urandom(300_000)
    writer.write(payload)
    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 10) == payload  # and the half-close went through
    writer.close()
    await writer.wait_closed()
    assert [(a.method, a.host, a.port, a.allowed) for a in attempts] == [("CONNECT", HOST, upstream.echo_port, True)]


@pytest.mark.parametrize(
    ("rules", "target", "status", "reason"),
    [
        ([], "{HOST}:{port}", 403, "no host is allowed"),
        (["other.example"], "{HOST}:{port}", 403, "not on this sandbox's list"),
        (["{HOST}:1"], "{HOST}:{port}", 403, "not on this sandbox's list"),
        (["localhost"], "{HOST}:{port}", 403, "not on this sandbox's list"),  # a name does not allow an IP
        (["*"], "localhost:{port}", 403, "not a public address"),  # a wildcard is not an explicit listing
        (["*.airlock.invalid"], "x.airlock.invalid:{port}", 502, "cannot resolve"),  # matched, then looked up
        (["*"], "2130706433:{port}", 400, "not a valid host name"),  # 127.0.0.1 in a form getaddrinfo reads
        (["*"], "bad_host!:{port}", 400, "not a valid host name"),
    ],
)
async def test_refused_targets(
    proxy: tuple[EgressProxy, list[EgressAttempt]],
    upstream: Upstream,
    rules: list[str],
    target: str,
    status: int,
    reason: str,
) -> None:
    egress, attempts = proxy
    egress.allow_hosts = [rule.format(HOST=HOST) for rule in rules]
    target = target.format(HOST=HOST, port=upstream.echo_port)
    got, reply = await ask(egress, f"CONNECT {target} HTTP/1.1\r\n\r\n")
    assert got == status
    assert reason in reply
    [attempt] = attempts
    assert (attempt.method, attempt.allowed, attempt.port) == ("CONNECT", False, upstream.echo_port)
    assert reason in attempt.reason


async def test_a_private_address_needs_allow_private_and_an_exact_listing(tmp_path: Path, upstream: Upstream) -> None:
    attempts: list[EgressAttempt] = []
    egress = EgressProxy("sb", tmp_path / "e.sock", allow_hosts=["localhost", HOST], on_attempt=attempts.append)
    await egress.start()
    try:
        for target in ("localhost", HOST):
            status, reply = await ask(egress, f"CONNECT {target}:{upstream.echo_port} HTTP/1.1\r\n\r\n")
            assert status == 403
            assert "which is not a public address" in reply
        egress.allow_private = True
        status, _ = await ask(egress, f"GET http://{HOST}:{upstream.http_port}/ HTTP/1.1\r\n\r\n")
        assert status == 200
    finally:
        await egress.aclose()
    assert [a.allowed for a in attempts] == [False, False, True]


async def test_plain_http_refusals(proxy: tuple[EgressProxy, list[EgressAttempt]], upstream: Upstream) -> None:
    egress, attempts = proxy
    egress.allow_hosts = [HOST]
    port = upstream.http_port
    cases = [
        (f"GET http://{HOST}@evil.example:{port}/ HTTP/1.1\r\n\r\n", 403, "evil.example"),  # userinfo is no host
        ("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "absolute http:// URL"),
        (f"GET https://{HOST}:{port}/ HTTP/1.1\r\n\r\n", 400, "through CONNECT"),
        ("BREW coffee://pot HTTP/1.1\r\n\r\n", 400, "absolute http:// URL"),
        ("nonsense\r\n\r\n", 400, "not an HTTP/1.x proxy request"),
        (f"GET http://{HOST}:{port}/ HTTP/1.1\r\n folded: header\r\n\r\n", 400, "malformed header"),
    ]
    for head, status, reason in cases:
        got, reply = await ask(egress, head)
        assert (got, reason in reply) == (status, True), head
    assert len(attempts) == len(cases)
    assert not any(a.allowed for a in attempts)
    assert upstream.requests == []


async def test_an_oversized_request_head_is_refused(
    proxy: tuple[EgressProxy, list[EgressAttempt]], upstream: Upstream
) -> None:
    egress, attempts = proxy
    egress.allow_hosts = [HOST]
    head = f"GET http://{HOST}:{upstream.http_port}/ HTTP/1.1\r\nX-Big: {'a' * 17_000}\r\n\r\n"
    status, reply = await ask(egress, head)
    assert status == 400
    assert "over 16384 bytes" in reply
    assert [a.allowed for a in attempts] == [False]
    assert upstream.requests == []
    just_under = f"GET http://{HOST}:{upstream.http_port}/ HTTP/1.1\r\nX-Big: {'a' * 15_000}\r\n\r\n"
    assert (await ask(egress, just_under))[0] == 200


async def test_limits_on_time_and_connections(tmp_path: Path, upstream: Upstream) -> None:
    attempts: list[EgressAttempt] = []
    limits = EgressLimits(head_timeout=0.3, idle_timeout=0.5, max_connections=1)
    egress = EgressProxy("sb", tmp_path / "e.sock", allow_hosts=[HOST], allow_private=True, limits=limits)
    egress.on_attempt = attempts.append
    await egress.start()
    try:
        reader, writer = await tunnel(egress, f"{HOST}:{upstream.echo_port}")
        status, reply = await ask(egress, f"CONNECT {HOST}:{upstream.echo_port} HTTP/1.1\r\n\r\n")
        assert (status, "more than 1 connections" in reply) == (503, True)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # the idle tunnel was closed
        writer.close()
        await writer.wait_closed()
        status, reply = await ask(egress, "CONNECT 127.0.0.2:1 HTTP/1.1\r\n")  # never finished
        assert (status, "no complete request within 0.3 s" in reply) == (408, True)
    finally:
        await egress.aclose()
    assert [a.allowed for a in attempts] == [True, False, False]


async def test_a_failing_callback_does_not_break_the_proxy(
    proxy: tuple[EgressProxy, list[EgressAttempt]], upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    egress, _ = proxy
    seen: list[EgressAttempt] = []

    async def broken(attempt: EgressAttempt) -> None:
        seen.append(attempt)
        raise RuntimeError("the audit log is down")

    egress.on_attempt = broken
    egress.allow_hosts = [HOST]
    for _ in range(2):
        status, _ = await ask(egress, f"GET http://{HOST}:{upstream.http_port}/ HTTP/1.1\r\n\r\n")
        assert status == 200
    assert len(seen) == 2
    assert "the egress attempt callback failed" in caplog.text


async def test_aclose_ends_live_tunnels_and_removes_the_socket(
    proxy: tuple[EgressProxy, list[EgressAttempt]], upstream: Upstream
) -> None:
    egress, _ = proxy
    egress.allow_hosts = [HOST]
    reader, writer = await tunnel(egress, f"{HOST}:{upstream.echo_port}")
    assert egress.connections == 1
    await egress.aclose()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    await writer.wait_closed()
    assert (egress.serving, egress.connections, egress.path.exists()) == (False, 0, False)
    await egress.start()  # and it starts again, with its list
    assert (await ask(egress, f"GET http://{HOST}:{upstream.http_port}/ HTTP/1.1\r\n\r\n"))[0] == 200
    egress.reset()
    assert egress.allow_hosts == []


async def test_a_socket_path_longer_than_sun_path_works(tmp_path: Path, upstream: Upstream) -> None:
    folder = tmp_path / ("d" * 100)
    folder.mkdir()
    egress = EgressProxy("sb", folder / "egress.sock", allow_hosts=[HOST], allow_private=True)
    await egress.start()
    try:
        assert len(str(egress.path)) > 108
        assert egress.path.is_socket()
        handle = os.open(folder, os.O_PATH | os.O_DIRECTORY)  # the client needs a short path too
        try:
            reader, writer = await asyncio.open_unix_connection(f"/proc/self/fd/{handle}/egress.sock")
        finally:
            os.close(handle)
        writer.write(f"CONNECT {HOST}:{upstream.echo_port} HTTP/1.1\r\n\r\n".encode())
        assert b" 200 " in await reader.readuntil(b"\r\n\r\n")
        writer.close()
        await writer.wait_closed()
    finally:
        await egress.aclose()
    assert not egress.path.exists()


# -- from inside a real sandbox -------------------------------------------------------------------
PY_FETCH = """
import json, sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as reply:
        print(json.dumps([reply.status, reply.read().decode()]))
except urllib.error.HTTPError as exc:
    print(json.dumps([exc.code, exc.read().decode()]))
"""

PY_CONNECT = """
import socket, sys
with socket.create_connection(("127.0.0.1", 3128), 10) as sock:
    sock.sendall(f"CONNECT {sys.argv[1]} HTTP/1.1\\r\\n\\r\\n".encode())
    head = b""
    while not head.endswith(b"\\r\\n\\r\\n"):
        head += sock.recv(1)
    print(head.split(b"\\r\\n")[0].decode())
    sock.sendall(b"ping through the tunnel")
    sock.shutdown(socket.SHUT_WR)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    print(data.decode())
"""


def unix_sockets() -> str:
    """The host's Unix sockets, one per line with its path."""
    return Path("/proc/net/unix").read_text()


def egress_of(sandbox: Sandbox) -> EgressProxy:
    egress = sandbox.egress
    assert isinstance(egress, EgressProxy), "a namespace sandbox without network gets an egress proxy"
    return egress


async def fetch(sandbox: Sandbox, url: str) -> tuple[int, str]:
    await sandbox.write_file("fetch.py", PY_FETCH)
    result = await sandbox.run_command(["python3", "fetch.py", url], timeout_ms=20_000)
    assert result.exit_code == 0, result.text
    status, body = json.loads(result.stdout)
    return int(status), str(body)


@pytest.fixture
async def ns_sandbox(ns_runtime: Runtime) -> AsyncIterator[tuple[Sandbox, list[EgressAttempt]]]:
    """A started namespace sandbox whose proxy may reach the host's loopback, and its attempts.

    Not handed to the policy (``recorded=False``): it would set the allowlist from the caller's role
    at each exec, and these tests set it themselves."""
    async with ns_runtime.sandbox(language="python", recorded=False) as sandbox:
        attempts: list[EgressAttempt] = []
        egress = egress_of(sandbox)
        egress.allow_private = True
        egress.on_attempt = attempts.append
        yield sandbox, attempts


async def test_by_default_the_sandbox_reaches_nothing(
    ns_sandbox: tuple[Sandbox, list[EgressAttempt]], upstream: Upstream
) -> None:
    sandbox, attempts = ns_sandbox
    assert egress_of(sandbox).allow_hosts == []
    status, body = await fetch(sandbox, f"http://{HOST}:{upstream.http_port}/")
    assert (status, "no host is allowed" in body) == (403, True)
    result = await sandbox.run_command(["python3", "-c", PY_CONNECT, f"{HOST}:{upstream.echo_port}"])
    assert result.stdout.startswith("HTTP/1.1 403 Forbidden"), result.text
    assert [(a.sandbox_id, a.method, a.allowed) for a in attempts] == [
        (sandbox.id, "GET", False),
        (sandbox.id, "CONNECT", False),
    ]
    assert upstream.requests == []


async def test_an_allowed_host_is_reached_through_the_proxy_env(
    ns_sandbox: tuple[Sandbox, list[EgressAttempt]], upstream: Upstream
) -> None:
    sandbox, attempts = ns_sandbox
    egress_of(sandbox).allow_hosts = [HOST]
    url = f"http://{HOST}:{upstream.http_port}/from-python"
    assert await fetch(sandbox, url) == (200, "hello from the host\n")
    expected = ["GET /from-python HTTP/1.1"]
    if shutil.which("curl"):
        curl = await sandbox.run_command(["curl", "-sS", "-f", f"http://{HOST}:{upstream.http_port}/from-curl"])
        assert curl.stdout == "hello from the host\n", curl.text
        expected.append("GET /from-curl HTTP/1.1")
    assert [line for line, _ in upstream.requests] == expected
    assert [(a.sandbox_id, a.host, a.port, a.allowed) for a in attempts] == [
        (sandbox.id, HOST, upstream.http_port, True)
    ] * len(expected)


async def test_a_host_off_the_list_is_refused_and_recorded(
    ns_sandbox: tuple[Sandbox, list[EgressAttempt]], upstream: Upstream
) -> None:
    sandbox, attempts = ns_sandbox
    egress_of(sandbox).allow_hosts = ["pypi.org", "*.pythonhosted.org"]
    status, body = await fetch(sandbox, f"http://{HOST}:{upstream.http_port}/")
    assert status == 403
    assert "not on this sandbox's list" in body
    [attempt] = attempts
    assert attempt == EgressAttempt(sandbox.id, HOST, upstream.http_port, "GET", False, body.strip(), attempt.time)
    assert upstream.requests == []


async def test_connect_tunnels_from_inside_the_sandbox(
    ns_sandbox: tuple[Sandbox, list[EgressAttempt]], upstream: Upstream
) -> None:
    sandbox, attempts = ns_sandbox
    egress_of(sandbox).allow_hosts = [f"{HOST}:{upstream.echo_port}"]
    result = await sandbox.run_command(["python3", "-c", PY_CONNECT, f"{HOST}:{upstream.echo_port}"])
    assert result.stdout == "HTTP/1.1 200 Connection established\nping through the tunnel\n", result.text
    assert [(a.method, a.port, a.allowed) for a in attempts] == [("CONNECT", upstream.echo_port, True)]


PY_BULK = """
import hashlib, os, socket, sys, threading
payload = os.urandom(int(sys.argv[2]))
with socket.create_connection(("127.0.0.1", 3128), 10) as sock:
    sock.sendall(f"CONNECT {sys.argv[1]} HTTP/1.1\\r\\n\\r\\n".encode())
    head = b""
    while not head.endswith(b"\\r\\n\\r\\n"):
        head += sock.recv(1)

    def send():
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send)
    sender.start()
    digest, size = hashlib.sha256(), 0
    while chunk := sock.recv(1 << 16):
        digest.update(chunk)
        size += len(chunk)
    sender.join()
print(size, digest.hexdigest() == hashlib.sha256(payload).hexdigest())
"""


async def test_a_bulk_transfer_through_the_tunnel_keeps_every_byte(
    ns_sandbox: tuple[Sandbox, list[EgressAttempt]], upstream: Upstream
) -> None:
    """Both ways at once, faster than either side reads: the forwarder must hold back, not drop."""
    sandbox, _ = ns_sandbox
    egress_of(sandbox).allow_hosts = [HOST]
    size = 16 << 20
    result = await sandbox.run_command(["python3", "-c", PY_BULK, f"{HOST}:{upstream.echo_port}", str(size)])
    assert result.stdout == f"{size} True\n", result.text


async def test_without_the_proxy_there_is_still_no_network(
    ns_sandbox: tuple[Sandbox, list[EgressAttempt]], upstream: Upstream
) -> None:
    sandbox, attempts = ns_sandbox
    egress_of(sandbox).allow_hosts = [HOST]  # allowed through the proxy, and only through it
    code = dedent(
        f"""
        import os, socket, urllib.request
        for name in ("HTTP_PROXY", "http_proxy"):
            os.environ.pop(name, None)
        for port in ({upstream.http_port}, {upstream.echo_port}):
            try:
                socket.create_connection(("{HOST}", port), 2)
                print("ESCAPED", port)
            except OSError as exc:
                print("blocked", type(exc).__name__)
        try:
            urllib.request.urlopen("http://{HOST}:{upstream.http_port}/", timeout=2)
            print("ESCAPED urllib")
        except OSError as exc:
            print("blocked", type(exc).__name__)
        """
    )
    result = await sandbox.exec(code, context=None)
    assert result.stdout.count("blocked") == 3, result.text
    assert "ESCAPED" not in result.stdout
    assert attempts == []
    assert upstream.requests == []


CA_CHECK = """
import os, ssl
print(ssl.create_default_context().cert_store_stats()["x509_ca"] > 0, os.path.exists("/etc/ssl/private"))
"""


@pytest.mark.skipif(not Path("/etc/ssl/certs/ca-certificates.crt").exists(), reason="the host has no CA bundle")
async def test_https_through_the_proxy_finds_the_ca_certificates(
    ns_sandbox: tuple[Sandbox, list[EgressAttempt]],
) -> None:
    """The host's CA certificates are in the sandbox (for HTTPS through CONNECT); its keys are not."""
    sandbox, _ = ns_sandbox
    result = await sandbox.exec(CA_CHECK, context=None)
    assert result.stdout == "True False\n", result.text


async def test_the_proxy_follows_the_sandbox_lifecycle(ns_runtime: Runtime, upstream: Upstream) -> None:
    sandbox = await ns_runtime.create_sandbox(language="python", recorded=False)
    egress = egress_of(sandbox)
    egress.allow_private = True
    egress.allow_hosts = [HOST]
    url = f"http://{HOST}:{upstream.http_port}/"
    try:
        assert egress.serving
        assert egress.path.is_socket()
        assert (await fetch(sandbox, url))[0] == 200
        await sandbox.stop()
        assert (egress.serving, egress.path.exists()) == (False, False)
        await sandbox.start()
        assert (await fetch(sandbox, url))[0] == 200
    finally:
        await sandbox.destroy()
    assert (egress.serving, egress.connections, egress.path.exists()) == (False, 0, False)
    assert str(egress.path) not in unix_sockets()


async def test_a_sandbox_with_full_network_has_no_proxy(ns_runtime: Runtime) -> None:
    async with ns_runtime.sandbox(language="python", limits=SandboxLimits(network=True)) as sandbox:
        assert sandbox._env.egress is None
        result = await sandbox.exec("import os; print(os.environ.get('HTTP_PROXY'))", context=None)
        assert result.stdout == "None\n"
