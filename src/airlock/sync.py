"""A small synchronous facade for scripts: the async runtime on an event loop in its own thread.

    with airlock.SyncRuntime() as rt:
        print(rt.run("print(6 * 7)").stdout)
        with rt.sandbox(language="python") as sb:
            sb.exec("x = 41")
            print(sb.exec("print(x + 1)").stdout)

The loop's thread lives as long as the runtime: sandboxes are tied to the thread that started them
(bubblewrap's ``--die-with-parent``), so they must not outlive it, and do not.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from airlock.config import Settings
from airlock.errors import SandboxStateError
from airlock.models import ExecutionRequest, ExecutionResult
from airlock.runtime import Runtime
from airlock.sandbox import Sandbox

__all__ = ["SyncRuntime", "SyncSandbox"]

_T = TypeVar("_T")


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="airlock-sync", daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        if self.loop.is_closed():
            coro.close()
            raise SandboxStateError("this runtime is closed")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class SyncSandbox:
    """The same methods as ``Sandbox``, blocking."""

    def __init__(self, sandbox: Sandbox, loop: _LoopThread) -> None:
        self._sandbox = sandbox
        self._loop = loop
        self.id = sandbox.id

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._sandbox, name)
        if not asyncio.iscoroutinefunction(attribute):
            return attribute

        def blocking(*args: Any, **kwargs: Any) -> Any:
            return self._loop.call(attribute(*args, **kwargs))

        return blocking


class SyncRuntime:
    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        self._loop = _LoopThread()
        self._runtime = self._loop.call(self._make(settings, overrides))

    @staticmethod
    async def _make(settings: Settings | None, overrides: dict[str, Any]) -> Runtime:
        return Runtime(settings, **overrides)

    @property
    def settings(self) -> Settings:
        return self._runtime.settings

    def __enter__(self) -> SyncRuntime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._loop.thread.is_alive():
            self._loop.call(self._runtime.aclose())
            self._loop.stop()

    def execute(self, request: ExecutionRequest) -> ExecutionResult:
        return self._loop.call(self._runtime.execute(request))

    def run(self, code: str, language: str = "python", **context: Any) -> ExecutionResult:
        return self._loop.call(self._runtime.run(code, language, **context))

    def create_sandbox(self, **kwargs: Any) -> SyncSandbox:
        return SyncSandbox(self._loop.call(self._runtime.create_sandbox(**kwargs)), self._loop)

    @contextmanager
    def sandbox(self, **kwargs: Any) -> Iterator[SyncSandbox]:
        sandbox = self.create_sandbox(**kwargs)
        try:
            yield sandbox
        finally:
            sandbox.destroy()
