"""Latency of running Python ``print(1)``: the floor, a one-shot sandbox, and exec in a running one.

    .venv/bin/python benchmarks/exec_latency.py [--rounds 50] [--backend namespace]

Prints p50/p99 in milliseconds for
  floor      a plain ``python3 -c 'print(1)'`` subprocess (the interpreter the sandbox uses)
  one-shot   ``Runtime.run`` with ``use_pools=false``: a fresh sandbox is made, runs it, is destroyed
  pooled     ``Runtime.run`` as it comes (``use_pools=true``): a fresh process in a sandbox of the
             runtime's pool, which is reset in the background after each run
  running    ``Sandbox.exec`` in a started sandbox (its persistent Python context)
  fresh      ``Sandbox.exec(context=None)``: a new process in a started sandbox
with the ratio of each to the floor, all measured in this run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from _common import percentile

from airlock import Runtime, Settings


async def measure(step: Callable[[], Awaitable[object]], rounds: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        await step()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await step()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--backend", default="namespace")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="airlock-bench-latency-") as home:
        await measure_all(Settings(home=Path(home), backend=args.backend), args.rounds)


async def measure_all(settings: Settings, rounds: int) -> None:
    python = settings.namespace.python if settings.backend == "namespace" else sys.executable

    async def floor() -> None:
        await asyncio.to_thread(subprocess.run, [python, "-c", "print(1)"], capture_output=True, check=True)

    results: dict[str, list[float]] = {"floor": await measure(floor, rounds)}
    async with Runtime(settings.model_copy(update={"use_pools": False})) as cold, Runtime(settings) as runtime:

        def run_in(rt: Runtime) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                result = await rt.run("print(1)")
                assert result.stdout == "1\n", result

            return run

        results["one-shot"] = await measure(run_in(cold), rounds)
        results["pooled"] = await measure(run_in(runtime), rounds * 4)
        async with runtime.sandbox(language="python") as sandbox:

            async def running() -> None:
                result = await sandbox.exec("print(1)")
                assert result.stdout == "1\n", result

            async def fresh() -> None:
                result = await sandbox.exec("print(1)", context=None)
                assert result.stdout == "1\n", result

            results["running"] = await measure(running, rounds * 10)
            results["fresh"] = await measure(fresh, rounds * 4)

    base = statistics.median(results["floor"])
    print(f"Python print(1), backend {settings.backend}, {rounds} rounds (running: {rounds * 10})")
    print(f"{'':<10} {'p50 ms':>8} {'p99 ms':>8} {'p50 / floor':>12}")
    for name, samples in results.items():
        p50 = percentile(samples, 0.5)
        print(f"{name:<10} {p50:>8.2f} {percentile(samples, 0.99):>8.2f} {p50 / base:>11.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
