"""Per-sandbox cgroups for memory, pids and CPU: cgroup v1 (one directory per controller) or v2.

Sandboxes get cgroups below the cgroup Airlock itself runs in, so a delegated subtree is enough.
Where neither version lets us create them (no root, no delegation), ``Cgroup.create`` returns None
and says why through ``probe()``; the backends then fall back to rlimits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from airlock.models import SandboxLimits

__all__ = ["Cgroup", "CgroupSupport", "probe"]

logger = logging.getLogger(__name__)

_CONTROLLERS = ("memory", "pids", "cpu")
_CPU_PERIOD_US = 100_000


@dataclass(frozen=True)
class CgroupSupport:
    version: int | None
    parents: dict[str, Path]
    reason: str = ""

    @property
    def usable(self) -> bool:
        return self.version is not None


def _own_paths() -> dict[str, str]:
    """controller (or "" for v2) -> our cgroup path, from /proc/self/cgroup."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(fstype, mount point, super options) of every cgroup mount."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, right = line.split(" - ", 1)
        fstype, _, options = right.split(" ", 2)
        if fstype in ("cgroup", "cgroup2"):
            mounts.append((fstype, left.split(" ")[4], set(options.split(","))))
    return mounts


def _probe_v1(own: dict[str, str], mounts: list[tuple[str, str, set[str]]]) -> dict[str, Path]:
    parents = {}
    for controller in _CONTROLLERS:
        for fstype, point, options in mounts:
            if fstype == "cgroup" and controller in options and controller in own:
                parent = Path(point) / own[controller].lstrip("/")
                if os.access(parent, os.W_OK):
                    parents[controller] = parent
    return parents


def _probe_v2(own: dict[str, str], mounts: list[tuple[str, str, set[str]]]) -> Path | None:
    """Our v2 cgroup, if sandboxes can get children of it with memory, pids and cpu enabled.

    Enabling controllers for children fails (EBUSY) where our own cgroup holds processes and is
    not the root: then Airlock needs a delegated subtree to run in.
    """
    for fstype, point, _ in mounts:
        if fstype == "cgroup2" and "" in own:
            parent = Path(point) / own[""].lstrip("/")
            available = set((Path(point) / "cgroup.controllers").read_text().split())
            if not (set(_CONTROLLERS) <= available and os.access(parent, os.W_OK)):
                continue
            try:
                _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in _CONTROLLERS))
            except OSError:
                continue
            return parent
    return None


def probe() -> CgroupSupport:
    try:
        own, mounts = _own_paths(), _mounts()
    except OSError as exc:
        return CgroupSupport(None, {}, f"cannot read the process's cgroups: {exc}")
    v1 = _probe_v1(own, mounts)
    if set(v1) == set(_CONTROLLERS):
        return CgroupSupport(1, v1)
    v2 = _probe_v2(own, mounts)
    if v2 is not None:
        return CgroupSupport(2, {"": v2})
    return CgroupSupport(
        None,
        {},
        "no writable cgroup with the memory, pids and cpu controllers (cgroup v2 needs a delegated "
        "subtree, e.g. systemd-run --scope -p Delegate=yes)",
    )


def _write(path: Path, value: str) -> None:
    path.write_text(value)


class Cgroup:
    """The cgroups of one sandbox."""

    def __init__(self, version: int, dirs: dict[str, Path]) -> None:
        self.version = version
        self.dirs = dirs

    @classmethod
    def create(cls, support: CgroupSupport, name: str, limits: SandboxLimits) -> Cgroup:
        """Make the group with its limits, or raise OSError and leave nothing behind."""
        dirs = {controller: parent / name for controller, parent in support.parents.items()}
        group = cls(support.version or 0, dirs)
        try:
            for path in dirs.values():
                path.mkdir()
            group._apply(limits)
        except OSError:
            group.remove(timeout=0.5)
            raise
        return group

    def _apply(self, limits: SandboxLimits) -> None:
        memory = str(limits.memory_mb * 1024 * 1024)
        quota = str(int(limits.cpus * _CPU_PERIOD_US))
        if self.version == 1:
            _write(self.dirs["memory"] / "memory.limit_in_bytes", memory)
            swap = self.dirs["memory"] / "memory.memsw.limit_in_bytes"
            if swap.exists():
                _write(swap, memory)
            _write(self.dirs["pids"] / "pids.max", str(limits.pids))
            _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(_CPU_PERIOD_US))
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", quota)
        else:
            root = self.dirs[""]
            _write(root / "memory.max", memory)
            if (root / "memory.swap.max").exists():
                _write(root / "memory.swap.max", "0")
            _write(root / "pids.max", str(limits.pids))
            _write(root / "cpu.max", f"{quota} {_CPU_PERIOD_US}")

    def procs_files(self) -> list[str]:
        """The files a new process writes its pid to, to join every controller."""
        return [str(path / "cgroup.procs") for path in self.dirs.values()]

    def oom_kills(self) -> int:
        path = self.dirs["memory"] / "memory.oom_control" if self.version == 1 else self.dirs[""] / "memory.events"
        try:
            for line in path.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except OSError:
            pass
        return 0

    def pids(self) -> set[int]:
        found: set[int] = set()
        for procs in self.procs_files():
            with contextlib.suppress(OSError):
                found.update(int(pid) for pid in Path(procs).read_text().split())
        return found

    def kill_all(self) -> None:
        """SIGKILL every process in the group (the dead leave it once they are reaped)."""
        if self.version == 2 and (self.dirs[""] / "cgroup.kill").exists():
            _write(self.dirs[""] / "cgroup.kill", "1")
            return
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def remove(self, timeout: float = 5.0) -> None:
        """Kill what is left and delete the group; waits (bounded) for the dead to be reaped."""
        deadline = time.monotonic() + timeout
        for path in self.dirs.values():
            while True:
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        logger.warning("cgroup %s is still busy; left in place", path)
                        break
                    self.kill_all()
                    time.sleep(0.001)
