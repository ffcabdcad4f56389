"""A small single-threaded event loop for the agent: fd readers, timers and child exits.

Single-threaded on purpose: the agent forks Python workers from itself, and fork is only safe in a
process with one thread. stdlib only, and only its C modules (``select.epoll``, ``_signal``): the
``selectors`` and ``signal`` wrappers import enum and collections, milliseconds of every start.
"""

from __future__ import annotations

import _signal
import contextlib
import heapq
import os
import select
import time

TYPE_CHECKING = False  # typing itself is not imported: the agent starts faster without it
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Loop", "Timer"]


def _guarded(callback: Callable[..., object], *args: object) -> None:
    """Run a callback; a bug in one must not take the agent, and every context in it, down."""
    try:
        callback(*args)
    except Exception:
        import traceback

        traceback.print_exc()


class Timer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: Timer) -> bool:
        return self.when < other.when


class Loop:
    def __init__(self) -> None:
        self.poll = select.epoll()
        self.callbacks: dict[int, Callable[[], None]] = {}
        self.running = True
        self._timers: list[Timer] = []
        self._children: dict[int, Callable[[int], None]] = {}
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        _signal.set_wakeup_fd(self._wake_w)
        _signal.signal(_signal.SIGCHLD, lambda *_: None)
        self.add_reader(self._wake_r, self._reap)

    def fds(self) -> list[int]:
        """Every descriptor the loop owns, for children to close after fork."""
        return [self._wake_r, self._wake_w, self.poll.fileno()]

    def add_reader(self, fd: int, callback: Callable[[], None]) -> None:
        self.poll.register(fd, select.EPOLLIN)
        self.callbacks[fd] = callback

    def remove_reader(self, fd: int) -> None:
        if self.callbacks.pop(fd, None) is not None:
            with contextlib.suppress(OSError):
                self.poll.unregister(fd)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(time.monotonic() + delay, callback)
        heapq.heappush(self._timers, timer)
        return timer

    def watch_child(self, pid: int, callback: Callable[[int], None]) -> None:
        """Call ``callback(wait_status)`` once ``pid`` exits."""
        self._children[pid] = callback

    def unwatch_child(self, pid: int) -> None:
        """Forget ``pid``: its exit was handled elsewhere."""
        self._children.pop(pid, None)

    def _reap(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            callback = self._children.pop(pid, None)
            if callback is not None:
                _guarded(callback, status)

    def _next_timeout(self) -> float | None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return None
        return max(0.0, self._timers[0].when - time.monotonic())

    def run(self) -> None:
        while self.running:
            timeout = self._next_timeout()
            try:
                ready = self.poll.poll(-1 if timeout is None else timeout)
            except InterruptedError:
                ready = []
            callbacks = dict(self.callbacks)
            for fd, _ in ready:
                # An earlier callback may have closed this fd (and a new one taken its number).
                callback = self.callbacks.get(fd)
                if callback is not None and callback is callbacks.get(fd):
                    _guarded(callback)
            now = time.monotonic()
            while self._timers and (self._timers[0].cancelled or self._timers[0].when <= now):
                timer = heapq.heappop(self._timers)
                if not timer.cancelled:
                    _guarded(timer.callback)
