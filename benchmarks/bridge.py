"""The model bridge's own cost per sub-call, as sandboxed code sees it, beside a bare socket.

    .venv/bin/python benchmarks/bridge.py [--rounds 1000] [--backend namespace]

A handler that answers at once; code in the sandbox's persistent Python context times each call.
Prints p50/p95 in milliseconds for
  llm_query          ``airlock_llm.llm_query`` (a connection per call), less the handler's own time
  bare, new conn     a 4-byte length-prefixed frame of the same size to an echo server on a Unix
                     socket in the same services folder, a new connection each time (the floor
                     of a connection per call)
  bare, kept conn    the same on one kept connection (what keeping a connection could save)
  bridge, host side  the bridge's own time per request on the host (``Bridge.stats.overhead_s``)
with each one's p50 over the first bare round trip's, all measured in this run. Target: the
llm_query row's p50 at most 2 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import struct
import time

from _common import percentile, private_dirs

from airlock import Runtime, Sandbox, Settings
from airlock.rlm import Bridge, BridgeCall

PROMPT = "What is the capital of France? Answer in one word."

#: Times ``rounds`` calls of ``llm_query`` (milliseconds, as JSON) after a few unmeasured ones.
CALLS = """
import airlock_llm, json, time
for _ in range(5):
    airlock_llm.llm_query({prompt!r})
samples = []
for _ in range({rounds}):
    start = time.perf_counter()
    airlock_llm.llm_query({prompt!r})
    samples.append((time.perf_counter() - start) * 1000)
print(json.dumps(samples))
"""

#: Times ``rounds`` bare round trips to the echo server, on new connections or on one kept.
BARE = """
import json, socket, struct, time
path, kept = {path!r}, {kept!r}
frame = struct.pack(">I", len({payload!r})) + {payload!r}

def round_trip(sock):
    sock.sendall(frame)
    need = len(frame)
    while need:
        need -= len(sock.recv(need))

def fresh():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        round_trip(sock)

held = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
held.connect(path)
step = (lambda: round_trip(held)) if kept else fresh
for _ in range(5):
    step()
samples = []
for _ in range({rounds}):
    start = time.perf_counter()
    step()
    samples.append((time.perf_counter() - start) * 1000)
held.close()
print(json.dumps(samples))
"""


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            header = await reader.readexactly(4)
            body = await reader.readexactly(struct.unpack(">I", header)[0])
            writer.write(header + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def echo_server(sandbox: Sandbox) -> tuple[asyncio.Server, str]:
    """A bare framed echo server in the sandbox's services folder; the path the sandbox sees."""
    path = sandbox.services_dir / "bench-echo.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    path.chmod(0o600)
    if sandbox.owner is not None:
        os.chown(path, *sandbox.owner)
    server = await asyncio.start_unix_server(_echo, sock=sock)
    return server, f"{sandbox.services_path}/{path.name}"


async def samples_of(sandbox: Sandbox, code: str, env: dict[str, str] | None = None) -> list[float]:
    result = await sandbox.exec(code, env=env, timeout_ms=600_000)
    assert result.exit_code == 0, result.stderr
    samples: list[float] = json.loads(result.stdout)
    return samples


async def measure(settings: Settings, rounds: int) -> dict[str, list[float]]:
    async with Runtime(settings) as runtime:
        # Not recorded, so not judged by the policy either (it would keep socket code off ``process``).
        sandbox = await runtime.create_sandbox(language="python", recorded=False)
        try:
            return await measure_in(sandbox, rounds)
        finally:
            await sandbox.destroy()


async def measure_in(sandbox: Sandbox, rounds: int) -> dict[str, list[float]]:
    handler_ms: list[float] = []

    async def handler(call: BridgeCall) -> str:
        start = time.perf_counter()
        answer = "Paris"
        handler_ms.append((time.perf_counter() - start) * 1000)
        return answer

    results: dict[str, list[float]] = {}
    async with Bridge(sandbox, handler) as bridge:
        payload = json.dumps({"token": bridge.token, "op": "llm_query", "prompt": PROMPT, "model": None}).encode()
        server, path = await echo_server(sandbox)
        try:
            for name, kept in (("bare, new conn", False), ("bare, kept conn", True)):
                code = BARE.format(path=path, kept=kept, payload=payload, rounds=rounds)
                results[name] = await samples_of(sandbox, code)
        finally:
            server.close()
            await server.wait_closed()
        calls = await samples_of(sandbox, CALLS.format(prompt=PROMPT, rounds=rounds), env=bridge.env)
        inside = handler_ms[-rounds:]  # the measured calls, in order, after the warm-up ones
        results["llm_query"] = [total - own for total, own in zip(calls, inside, strict=True)]
        results["bridge, host side"] = [s * 1000 for s in list(bridge.stats.overhead_s)[-rounds:]]
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--backend", default="namespace")
    args = parser.parse_args()

    home, root = private_dirs("bridge")
    try:
        settings = Settings(home=home, sandbox_root=root, backend=args.backend)
        results = await measure(settings, args.rounds)
    finally:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
    floor = percentile(results["bare, new conn"], 0.5)
    print(f"model bridge overhead per sub-call ({args.backend}, {args.rounds} rounds; milliseconds)")
    print(f"{'':20} {'p50':>8} {'p95':>8} {'p50 / bare':>11}")
    for name in ("llm_query", "bare, new conn", "bare, kept conn", "bridge, host side"):
        p50, p95 = percentile(results[name], 0.5), percentile(results[name], 0.95)
        print(f"{name:20} {p50:8.3f} {p95:8.3f} {p50 / floor:10.1f}x")
    p50 = percentile(results["llm_query"], 0.5)
    print(f"target p50 <= 2 ms: {'met' if p50 <= 2 else 'NOT met'} ({p50:.3f} ms)")


if __name__ == "__main__":
    asyncio.run(main())
