"""Snapshot and restore time against the workspace's size, with 1 MiB changed, beside ``cp -a``.

    .venv/bin/python benchmarks/snapshots.py [--rounds 5] [--sizes 1,100,1024] [--cap 3]

For each workspace size (MiB, in 1 MiB files): a first (full) snapshot; then, ``rounds`` times,
1 MiB of it rewritten and a snapshot taken (the figure that matters), and a restore of that
snapshot after the 1 MiB was rewritten again; beside ``cp -a`` of the whole tree in the same run.
The store works on the host side of the workspace (``SnapshotStore``, as ``Sandbox.snapshot`` and
``Sandbox.restore`` do, without the sandbox's stop and start around a restore). With ``--cap`` below
``rounds``, each snapshot also drops the oldest one and its content, as in a sandbox at its cap.
Target: snapshot and restore of a 1 MiB change <= 20 ms whatever the size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from airlock.snapshots import SnapshotStore

MIB = 1024 * 1024


def fill(root: Path, mib: int) -> None:
    block = os.urandom(MIB)
    for i in range(mib):
        folder = root / f"d{i // 100:03d}"
        folder.mkdir(exist_ok=True)
        (folder / f"f{i:05d}.bin").write_bytes(block[i % 7 :] + block[: i % 7])


def change_one_mib(root: Path, round_: int) -> None:
    (root / "d000" / "f00000.bin").write_bytes(os.urandom(MIB - round_))


def ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def measure(size: int, rounds: int, cap: int, scratch: Path) -> dict[str, float]:
    workspace = scratch / f"ws-{size}"
    workspace.mkdir()
    fill(workspace, size)
    store = SnapshotStore(scratch / f"store-{size}", max_per_sandbox=cap or rounds + 2)
    trees = {"workspace": workspace}
    start = time.perf_counter()
    store.take("bench", trees, name="full")
    full = ms(start)
    snaps, restores = [], []
    for r in range(rounds):
        change_one_mib(workspace, r)
        start = time.perf_counter()
        info = store.take("bench", trees, name=f"r{r}")
        snaps.append(ms(start))
        assert info.new_bytes <= MIB, info
        change_one_mib(workspace, r + 1000)
        start = time.perf_counter()
        store.restore("bench", info.id, trees)
        restores.append(ms(start))
    copies = []
    for r in range(max(1, rounds // 2)):
        target = scratch / f"copy-{size}-{r}"
        start = time.perf_counter()
        subprocess.run(["cp", "-a", str(workspace), str(target)], check=True)
        copies.append(ms(start))
        shutil.rmtree(target)
    shutil.rmtree(workspace)
    shutil.rmtree(store.root)
    return {
        "full": full,
        "snapshot": statistics.median(snaps),
        "restore": statistics.median(restores),
        "cp": statistics.median(copies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="1,100,1024", help="workspace sizes in MiB")
    parser.add_argument("--cap", type=int, default=0, help="snapshots kept (default: all the rounds')")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="airlock-bench-snapshots-", dir="/var/tmp") as scratch:
        rows = {size: measure(size, args.rounds, args.cap, Path(scratch)) for size in sizes}
    past_cap = f", {args.cap} kept" if args.cap else ""
    print(f"Snapshots, 1 MiB changed, median of {args.rounds} rounds{past_cap} (ms)")
    print(f"  {'workspace':>10} {'first':>9} {'snapshot':>9} {'restore':>9} {'cp -a':>9} {'cp/snap':>8}  <= 20 ms")
    for size, row in rows.items():
        ok = row["snapshot"] <= 20 and row["restore"] <= 20
        print(
            f"  {size:>6} MiB {row['full']:>9.1f} {row['snapshot']:>9.2f} {row['restore']:>9.2f} "
            f"{row['cp']:>9.1f} {row['cp'] / row['snapshot']:>7.0f}x  {'met' if ok else 'MISSED'}"
        )
    print("  first: the first, full snapshot; snapshot/restore: with 1 MiB changed since; cp -a: the whole tree")


if __name__ == "__main__":
    main()
