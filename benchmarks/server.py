"""What the REST server adds: exec and create over HTTP against the same calls in-process.

    .venv/bin/python benchmarks/server.py [--rounds 50] [--backend namespace]

Starts ``airlock serve`` on a free loopback port (a temporary home and sandbox root, no config file,
the per-tenant limits raised to 64 concurrent execs and 200 sandboxes so that they do not refuse the
load, ``--backend`` the one backend it offers) and makes its API key with ``airlock keys create``.
Then prints, all measured in this run,
  exec    Python ``print(1)`` in a running sandbox at concurrency 1, 16 and 64: p50/p99 latency and
          execs per second of ``POST /v1/sandboxes/{id}/exec`` (httpx, keep-alive) against
          ``await sandbox.exec("print(1)")`` in a local Runtime (same backend). At concurrency N, N
          clients run at once, each with a sandbox (and, over HTTP, a connection) of its own, each
          ``rounds`` execs after a warm-up; at concurrency 1 there are ``rounds * 10`` execs.
  create  20 sandboxes made at once (``asyncio.gather``) against one made alone, the target being that
          the 20 finish within 2x the time of one: ``POST /v1/sandboxes`` and, beside it,
          ``Runtime.create_sandbox`` in-process.
Every sandbox is deleted; the run ends by checking that none left a workspace, process or cgroup.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
from _common import percentile, private_dirs

from airlock import Runtime, Sandbox, Settings
from airlock.backends.cgroups import probe as probe_cgroups

CONCURRENCY = (1, 16, 64)
BURST = 20
SINGLES, BURSTS = 5, 3
LIMITS = {
    "AIRLOCK_SERVER__MAX_CONCURRENT_EXECS_PER_TENANT": str(max(CONCURRENCY)),
    "AIRLOCK_SERVER__MAX_SANDBOXES_PER_TENANT": "200",
}
MARKER = b"AIRLOCK_SANDBOX_ID="

T = TypeVar("T")
Step = Callable[[], Awaitable[None]]


@dataclass
class Figures:
    """Latencies (ms) of every exec of one concurrency level, and the wall time (s) they took."""

    samples: list[float]
    wall: float

    @property
    def rate(self) -> float:
        return len(self.samples) / self.wall


async def clients(steps: list[Step], rounds: int, warmup: int = 3) -> Figures:
    """Each step is one client: all warm up, then all run ``rounds`` timed steps at once."""
    samples: list[float] = []

    async def warm(step: Step) -> None:
        for _ in range(warmup):
            await step()

    async def client(step: Step) -> None:
        for _ in range(rounds):
            start = time.perf_counter()
            await step()
            samples.append((time.perf_counter() - start) * 1000)

    await asyncio.gather(*(warm(step) for step in steps))
    start = time.perf_counter()
    await asyncio.gather(*(client(step) for step in steps))
    return Figures(samples, time.perf_counter() - start)


async def exec_levels(steps: list[Step], rounds: int) -> dict[int, Figures]:
    return {n: await clients(steps[:n], rounds * 10 if n == 1 else rounds) for n in CONCURRENCY}


async def gather_all(*calls: Awaitable[T]) -> list[T]:
    """``asyncio.gather`` that lets every call finish (so each is tracked) before raising."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for outcome in results:
        if isinstance(outcome, BaseException):
            raise outcome
    return results  # type: ignore[return-value]


async def batched(make: Callable[[], Awaitable[T]], count: int, width: int = 8) -> list[T]:
    gate = asyncio.Semaphore(width)

    async def one() -> T:
        async with gate:
            return await make()

    return await gather_all(*(one() for _ in range(count)))


async def creates(make: Callable[[], Awaitable[T]], drop: Callable[[T], Awaitable[None]]) -> tuple[float, float]:
    """Median ms of one create alone, and of ``BURST`` creates at once (each deleted, untimed)."""
    one, burst = [], []
    for _ in range(SINGLES):
        start = time.perf_counter()
        made = await make()
        one.append((time.perf_counter() - start) * 1000)
        await drop(made)
    for _ in range(BURSTS):
        start = time.perf_counter()
        many = await gather_all(*(make() for _ in range(BURST)))
        burst.append((time.perf_counter() - start) * 1000)
        await gather_all(*(drop(m) for m in many))
    return statistics.median(one), statistics.median(burst)


# -- in-process: the baseline -----------------------------------------------------------------------
async def in_process(settings: Settings, rounds: int, made: set[str]) -> tuple[dict[int, Figures], tuple[float, float]]:
    async with Runtime(settings) as runtime:

        async def make() -> Sandbox:
            sandbox = await runtime.create_sandbox(language="python")
            made.add(sandbox.id)
            return sandbox

        async def drop(sandbox: Sandbox) -> None:
            await sandbox.destroy()
            runtime.detach(sandbox.id)

        def step(sandbox: Sandbox) -> Step:
            async def run() -> None:
                result = await sandbox.exec("print(1)")
                assert result.stdout == "1\n", result

            return run

        sandboxes = await batched(make, max(CONCURRENCY))
        levels = await exec_levels([step(sandbox) for sandbox in sandboxes], rounds)
        await gather_all(*(drop(sandbox) for sandbox in sandboxes))
        return levels, await creates(make, drop)


# -- over HTTP --------------------------------------------------------------------------------------
class ServerError(RuntimeError):
    """The server answered what it should not have."""


def check(reply: httpx.Response, status: int) -> httpx.Response:
    if reply.status_code != status:
        request = reply.request
        raise ServerError(f"{request.method} {request.url.path}: {reply.status_code} {reply.text[:500]}")
    return reply


class Server:
    """``airlock serve`` in a subprocess; ``async with`` makes a key, waits for /readyz, and always
    ends with SIGTERM."""

    def __init__(self, home: Path, root: Path, backend: str) -> None:
        home.mkdir(exist_ok=True)
        self.home, self.log = home, home / "server.log"
        self.env = {
            **os.environ,
            "AIRLOCK_HOME": str(home),
            "AIRLOCK_CONFIG": str(home / "no-config.toml"),
            "AIRLOCK_SANDBOX_ROOT": str(root),
            "AIRLOCK_BACKEND": backend,
            "AIRLOCK_SERVER__ALLOWED_BACKENDS": json.dumps([backend]),  # 'process' is not offered by default
            **LIMITS,
        }
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.url = f"http://127.0.0.1:{probe.getsockname()[1]}"
        self.process: asyncio.subprocess.Process | None = None
        self.key = ""
        self.exit_code: int | None = None

    async def __aenter__(self) -> Server:
        self.key = await self._key()  # before the server opens the store: one migrates it, not two
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "airlock", "serve", "--port", self.url.rsplit(":", 1)[1],
                env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        try:
            await self._ready()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _key(self) -> str:
        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "airlock", "keys", "create", "--name", "bench",
            env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await cli.communicate()
        if cli.returncode != 0:
            raise ServerError(f"airlock keys create exited {cli.returncode}: {err.decode()}")
        return out.decode().strip()

    async def _ready(self, timeout: float = 30) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url) as client:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise ServerError(f"the server exited {self.process.returncode}: {self.log_tail()}")
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise ServerError(f"the server was not ready within {timeout} s: {self.log_tail()}")

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            self.exit_code = None if self.process is None else self.process.returncode
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.exit_code = await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise ServerError(f"the server ignored SIGTERM for 60 s: {self.log_tail()}") from None

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def log_notes(self) -> Counter[str]:
        """The lines of its log that are not uvicorn's INFO, numbers masked, with their counts."""
        lines = self.log.read_text(errors="replace").splitlines()
        return Counter(re.sub(r"\d+", "N", line) for line in lines if not line.startswith("INFO:"))

    def client(self) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {self.key}"}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60)


class Sandboxes:
    """The sandboxes this run makes on the server; ``sweep`` deletes whatever is left."""

    def __init__(self, client: httpx.AsyncClient, backend: str, made: set[str]) -> None:
        self.client, self.backend, self.made = client, backend, made
        self.live: set[str] = set()

    async def create(self) -> str:
        reply = check(await self.client.post("/v1/sandboxes", json={"language": "python"}), 201).json()
        self.made.add(reply["id"])
        self.live.add(reply["id"])
        if reply["backend"] != self.backend or reply["status"] != "running":
            raise ServerError(f"POST /v1/sandboxes made {reply}, not a running {self.backend} sandbox")
        return str(reply["id"])

    async def delete(self, sandbox_id: str) -> None:
        check(await self.client.delete(f"/v1/sandboxes/{sandbox_id}"), 204)
        self.live.discard(sandbox_id)

    async def sweep(self) -> list[str]:
        """Delete what is left; returns what the server still listed after this run's deletes."""
        listed = {s["id"] for s in check(await self.client.get("/v1/sandboxes"), 200).json()["sandboxes"]}
        stray = sorted(listed - self.live)
        for sandbox_id in self.live | listed:
            reply = await self.client.delete(f"/v1/sandboxes/{sandbox_id}")
            if reply.status_code not in (204, 404):
                check(reply, 204)
        return stray


async def over_http(
    server: Server, backend: str, rounds: int, made: set[str]
) -> tuple[dict[int, Figures], tuple[float, float], list[str]]:
    async with server, server.client() as control:
        sandboxes = Sandboxes(control, backend, made)
        try:
            ids = await batched(sandboxes.create, max(CONCURRENCY))
            conns = [server.client() for _ in ids]
            try:
                levels = await exec_levels([http_step(c, i) for c, i in zip(conns, ids, strict=True)], rounds)
            finally:
                await gather_all(*(c.aclose() for c in conns))
            await gather_all(*(sandboxes.delete(i) for i in ids))
            timing = await creates(sandboxes.create, sandboxes.delete)
        finally:
            stray = await sandboxes.sweep()
    if server.exit_code not in (0, -signal.SIGTERM) or "Application shutdown complete" not in server.log_tail():
        raise ServerError(f"the server exited {server.exit_code} on SIGTERM: {server.log_tail()}")
    return levels, timing, stray


def http_step(client: httpx.AsyncClient, sandbox_id: str) -> Step:
    async def run() -> None:
        reply = check(await client.post(f"/v1/sandboxes/{sandbox_id}/exec", json={"code": "print(1)"}), 200)
        assert reply.json()["stdout"] == "1\n", reply.text

    return run


# -- what is left behind ----------------------------------------------------------------------------
def leftovers(root: Path, made: set[str]) -> list[str]:
    """Workspaces in the sandbox root, and processes and cgroups of any sandbox this run made."""
    found = [f"workspace {path}" for path in root.iterdir()]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        ids = {entry[len(MARKER) :].decode() for entry in environ if entry.startswith(MARKER)}
        found += [f"process {pid} of sandbox {i}" for i in ids & made]
    for parent in probe_cgroups().parents.values():
        found += [f"cgroup {c}" for c in parent.glob("airlock-*") if c.name.removeprefix("airlock-") in made]
    return found


# -- the report -------------------------------------------------------------------------------------
def report(
    args: argparse.Namespace,
    http: dict[int, Figures],
    local: dict[int, Figures],
    create_rows: dict[str, tuple[float, float]],
) -> None:
    print(
        f"Python print(1) exec, backend {args.backend}, {args.rounds} execs per client "
        f"(concurrency 1: {args.rounds * 10}); each client in a sandbox of its own"
    )
    print(
        "server settings for the run: "
        + ", ".join(f"{k.rsplit('__', 1)[1].lower()}={v}" for k, v in LIMITS.items())
        + f", allowed_backends=[{args.backend}]"
    )
    head = f"{'p50 ms':>8} {'p99 ms':>8} {'exec/s':>7}"
    print(f"{'':<12} {'HTTP':^25} {'in-process':^25} {'HTTP / in-process':^26}")
    print(f"{'concurrency':<12} {head} {head} {'p50':>8} {'p99':>8} {'exec/s':>8}")
    for n in CONCURRENCY:
        h, b = http[n], local[n]
        hp50, hp99, bp50, bp99 = (percentile(f.samples, q) for f in (h, b) for q in (0.5, 0.99))
        print(
            f"{n:<12} {hp50:>8.2f} {hp99:>8.2f} {h.rate:>7.0f} {bp50:>8.2f} {bp99:>8.2f} {b.rate:>7.0f} "
            f"{hp50 / bp50:>7.2f}x {hp99 / bp99:>7.2f}x {h.rate / b.rate:>7.2f}x"
        )
    print(f"\n{BURST} sandbox creates at once against one alone (medians of {BURSTS} bursts, {SINGLES} singles)")
    print(f"{'':<12} {'one ms':>8} {f'{BURST} at once ms':>16} {'ratio':>8}  (target: 2x at most)")
    for name, (one, burst) in create_rows.items():
        print(f"{name:<12} {one:>8.1f} {burst:>16.1f} {burst / one:>7.2f}x")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--backend", default="namespace")
    args = parser.parse_args()

    home, root = private_dirs("server")
    settings = Settings(home=home / "local", sandbox_root=root, backend=args.backend)
    server = Server(home / "server", root, args.backend)
    made: set[str] = set()
    try:
        local, local_creates = await in_process(settings, args.rounds, made)
        http, http_creates, stray = await over_http(server, args.backend, args.rounds, made)
    finally:
        notes = server.log_notes() if server.log.exists() else Counter()
        left = leftovers(root, made)
        if left:
            print("LEFT BEHIND:\n  " + "\n  ".join(left), file=sys.stderr)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
    report(args, http, local, {"HTTP": http_creates, "in-process": local_creates})
    for line, count in notes.most_common():
        print(f"server log, {count}x: {line}")
    for sandbox_id in stray:
        print(f"LEFT BEHIND: the server still listed sandbox {sandbox_id} after its delete", file=sys.stderr)
    if left or stray:
        raise SystemExit(1)
    print(f"\n{len(made)} sandboxes made; none left a workspace, process or cgroup")


if __name__ == "__main__":
    asyncio.run(main())
