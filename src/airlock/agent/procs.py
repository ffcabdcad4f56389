"""Starting and killing processes inside the sandbox. stdlib only.

Every execution runs in a process group of its own and carries a marker in its environment
(``AIRLOCK_EXEC_ID``), so a timeout can find and kill all of it: the process tree below the leader,
and anything that detached with ``setsid`` and double-forked (it is re-parented to the agent, which is
pid 1 or a child subreaper, and still carries the marker in its initial environment).
"""

from __future__ import annotations

import _signal
import contextlib
import fcntl
import os

__all__ = ["MARKER", "SpawnError", "child_setup", "kill_tree", "spawn"]

MARKER = "AIRLOCK_EXEC_ID"
_FIRST_FREE_FD = 256


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
    pid = os.fork()
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


def _process_table() -> dict[int, int]:
    """pid -> parent pid for every process this agent can see."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(name)] = int(fields[1])
    return table


def _carries_marker(pid: int, needle: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            return needle in b"\0" + environ.read()
    except OSError:
        return False


def _targets(roots: list[int], marker: str | None, table: dict[int, int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [r for r in roots if r in table]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    if marker:
        needle = f"\0{MARKER}={marker}\0".encode()
        found.update(pid for pid in table if pid not in found and _carries_marker(pid, needle))
    return found


def kill_tree(roots: list[int], marker: str | None) -> None:
    """SIGKILL ``roots``, all their descendants and every process carrying ``marker``.

    Processes are stopped first and killed once no new ones appear, so a fork bomb cannot outrun
    the sweep.
    """
    me = os.getpid()
    stopped: set[int] = set()
    for _ in range(200):
        fresh = _targets(roots, marker, _process_table()) - stopped - {me}
        if not fresh:
            break
        for pid in fresh:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, _signal.SIGSTOP)
        stopped |= fresh
    for pid in stopped | set(roots):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, _signal.SIGKILL)
