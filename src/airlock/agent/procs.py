"""Starting and killing processes inside the sandbox. stdlib only.

Every execution runs in a process group of its own; a timeout kills all of it: the process tree
below its leader, and whatever started in the sandbox while it ran and does not belong to another
execution still running (see ``kill_tree``).
"""

from __future__ import annotations

import _signal
import contextlib
import fcntl
import os
import time

__all__ = ["SpawnError", "child_setup", "kill_tree", "now_ticks", "spawn"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

_FIRST_FREE_FD = 256
_TICKS = os.sysconf("SC_CLK_TCK")


class SpawnError(OSError):
    """The program could not be started (not found, not executable, bad working directory)."""


def child_setup(fd_map: dict[int, int], cwd: str | None) -> None:
    """In a freshly forked child: own process group, descriptors in place, signals reset, cwd set.

    A process group, not a session: ``setsid`` costs ~4 ms where the kernel's sched_autogroup is on
    (it makes a scheduler group per session), and the sandbox has no terminal to detach from.
    """
    os.setpgid(0, 0)
    parked = {target: fcntl.fcntl(source, fcntl.F_DUPFD, _FIRST_FREE_FD) for target, source in fd_map.items()}
    for target, source in parked.items():
        os.dup2(source, target)
    previous = -1
    for target in [*sorted(fd_map), 1 << 20]:  # close everything else, the agent's own fds included
        if target > previous + 1:  # closerange(0, 0) would close every fd (close_range(0, -1))
            os.closerange(previous + 1, target)
        previous = target
    _signal.set_wakeup_fd(-1)
    for signum in (_signal.SIGCHLD, _signal.SIGPIPE, _signal.SIGXFSZ, _signal.SIGINT, _signal.SIGTERM):
        _signal.signal(signum, _signal.SIG_DFL)
    try:  # the sandbox's own code dies first when memory runs out, never the agent
        with open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")
    except OSError:
        pass
    if cwd:
        os.chdir(cwd)


def spawn(argv: list[str], env: dict[str, str], cwd: str | None, fd_map: dict[int, int]) -> int:
    """Fork and exec ``argv``; raise SpawnError if it could not be started."""
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        pid = os.fork()
    except OSError as exc:  # out of pids or memory: the sandbox's limits, reported as such
        os.close(err_r)
        os.close(err_w)
        raise SpawnError(f"cannot start {argv[0]}: {exc.strerror}") from exc
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            child_setup({**fd_map, _FIRST_FREE_FD - 1: err_w}, cwd)
            os.set_inheritable(_FIRST_FREE_FD - 1, False)
            os.execvpe(argv[0], argv, env)
        except BaseException as exc:
            try:
                os.write(_FIRST_FREE_FD - 1, f"{argv[0]}: {exc.strerror if isinstance(exc, OSError) else exc}".encode())
            finally:
                os._exit(127)
    os.close(err_w)
    message = b""
    while chunk := os.read(err_r, 4096):
        message += chunk
    os.close(err_r)
    if message:
        os.waitpid(pid, 0)
        raise SpawnError(message.decode(errors="replace"))
    return pid


def now_ticks() -> int:
    """The time now in the unit of a process's start time in /proc: clock ticks since boot."""
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * _TICKS)


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, start time in ticks since boot) for every process this agent can see."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            table[int(name)] = (int(fields[1]), int(fields[19]))
        except (OSError, IndexError, ValueError):
            continue
    return table


def _descendants(roots: Iterable[int], table: dict[int, tuple[int, int]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [root for root in roots if root in table]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def kill_tree(roots: list[int], *, since: int | None = None, spare: Iterable[int] = ()) -> None:
    """SIGKILL ``roots`` and all their descendants; with ``since``, also every process of the sandbox
    that started at or after that moment (``now_ticks()``), except the trees of ``spare``.

    The start time is what catches a child that detached (``setsid`` and a double fork re-parent it
    to the agent, out of the tree) and cleared its environment: a process cannot forge it. The
    sandbox's processes are the agent's descendants (it is pid 1, or a child subreaper).
    Processes are stopped first and killed once no new ones appear, so a fork bomb cannot outrun
    the sweep.
    """
    me = os.getpid()
    spare = list(spare)
    stopped: set[int] = set()
    for _ in range(200):
        table = _process_table()
        targets = _descendants(roots, table)
        if since is not None:
            ours = _descendants([me], table) - _descendants(spare, table)
            targets |= {pid for pid in ours if table[pid][1] >= since}
        fresh = targets - stopped - {me}
        if not fresh:
            break
        for pid in fresh:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, _signal.SIGSTOP)
        stopped |= fresh
    for pid in stopped | set(roots):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, _signal.SIGKILL)
