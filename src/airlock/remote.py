"""A sandbox on an Airlock server: the methods and signatures of ``Sandbox``, over HTTP.

Code written for ``Sandbox`` runs on a ``RemoteSandbox`` unchanged; ``AsyncClient`` (in
``airlock.client``) makes them, and ``SyncRemoteSandbox`` is the blocking twin that ``Client`` hands
out. Two things the REST API cannot carry: ``write_file``'s ``mode`` and ``append``, and stdin
that is not UTF-8; both raise ``InvalidRequest`` rather than do something else.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Iterator, Mapping
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from airlock.errors import FileTooLarge, InvalidRequest, SandboxNotFound
from airlock.models import (
    USE_DEFAULT,
    Capability,
    ExecutionResult,
    OutputChunk,
    SandboxState,
    SnapshotPolicy,
    UseDefault,
)
from airlock.sandbox import DEFAULT_CONTEXT, FileInfo, OutputCallback
from airlock.snapshots import SnapshotInfo

if TYPE_CHECKING:
    from airlock.client import AsyncClient
    from airlock.sync import _LoopThread

__all__ = ["MAX_EXEC_TIMEOUT_MS", "RemoteSandbox", "SyncRemoteSandbox", "exec_body", "sandbox_path"]

#: The longest execution the server accepts: what ``timeout_ms=None`` ("no limit") asks for.
MAX_EXEC_TIMEOUT_MS = 24 * 3600 * 1000

_T = TypeVar("_T")
_Item = OutputChunk | ExecutionResult
_STATES = {state.value: state for state in SandboxState}
_CAPABILITIES = {capability.value: capability for capability in Capability}


def sandbox_path(sandbox_id: str, tail: str = "") -> str:
    """The URL path of a sandbox (or of ``tail`` under it)."""
    return f"/v1/sandboxes/{quote(sandbox_id, safe='')}" + (f"/{tail}" if tail else "")


def exec_body(
    code: str = "",
    language: str | None = None,
    *,
    argv: list[str] | None = None,
    context: str | None = DEFAULT_CONTEXT,
    timeout_ms: int | UseDefault | None = USE_DEFAULT,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    stdin: bytes | str | None = None,
    max_output_bytes: int | UseDefault = USE_DEFAULT,
    agent_id: str | None = None,
) -> dict[str, Any]:
    """The JSON of an exec; ``USE_DEFAULT`` is left out, so that the server's own default applies."""
    body: dict[str, Any] = {"env": dict(env or {}), "cwd": cwd, "stdin": _text(stdin), "agent_id": agent_id}
    body |= {"argv": list(argv)} if argv is not None else {"code": code, "language": language, "context": context}
    if not isinstance(timeout_ms, UseDefault):
        body["timeout_ms"] = MAX_EXEC_TIMEOUT_MS if timeout_ms is None else timeout_ms
    if not isinstance(max_output_bytes, UseDefault):
        body["max_output_bytes"] = max_output_bytes
    return body


def _text(stdin: bytes | str | None) -> str | None:
    if isinstance(stdin, bytes):
        try:
            return stdin.decode()
        except UnicodeDecodeError:
            raise InvalidRequest("the REST API carries stdin as text, and this stdin is not UTF-8") from None
    return stdin


async def _collect(items: AsyncIterator[_Item], on_output: OutputCallback) -> ExecutionResult:
    """Hand the chunks to ``on_output``; return the result (the stream raises if none comes)."""
    result: ExecutionResult | None = None
    async for item in items:
        if isinstance(item, OutputChunk):
            on_output(item)
        else:
            result = item
    assert result is not None
    return result


class RemoteSandbox:
    """A sandbox on an Airlock server, with the methods of ``Sandbox``. ``AsyncClient`` makes them.

    ``state`` is the library's lifecycle state; ``status`` is the server's word for it, which adds
    ``lost`` (the sandbox died with a server; its state is then ``stopped``)."""

    def __init__(self, client: AsyncClient, view: Mapping[str, Any]) -> None:
        self._client = client
        self.id: str = view["id"]
        self._update(view)

    def __repr__(self) -> str:
        return f"<RemoteSandbox {self.id} {self.backend} {self.status}>"

    @property
    def alive(self) -> bool:
        """Running, as the server last said (``refresh()`` asks again)."""
        return self.state is SandboxState.RUNNING

    def _update(self, view: Mapping[str, Any]) -> RemoteSandbox:
        self.backend: str = view["backend"]
        self.language: str = view["language"]
        self.status: str = view["status"]
        self.state = _STATES.get(self.status, SandboxState.STOPPED)
        self.last_error: str | None = view.get("last_error")
        self.limits: dict[str, Any] = dict(view.get("limits", {}))
        self.capabilities = frozenset(_CAPABILITIES[c] for c in view.get("capabilities", []) if c in _CAPABILITIES)
        self.created_at = datetime.fromisoformat(view["created_at"])
        self.policy = SnapshotPolicy.model_validate(view.get("snapshot_policy", {}))
        self.quarantined: str | None = view.get("quarantined")
        return self

    async def _call(self, method: str, tail: str = "", **kwargs: Any) -> Any:
        """The reply's JSON (``None`` for an empty reply)."""
        reply = await self._client._request(method, sandbox_path(self.id, tail), **kwargs)
        return reply.json() if reply.content else None

    # -- lifecycle ----------------------------------------------------------------------------------
    async def refresh(self) -> RemoteSandbox:
        """Read the sandbox's state from the server again."""
        return self._update(await self._call("GET"))

    async def start(self) -> RemoteSandbox:
        return self._update(await self._call("POST", "start"))

    async def stop(self) -> None:
        self._update(await self._call("POST", "stop"))

    async def destroy(self) -> None:
        """Kill everything and delete the workspace. Destroying twice (or a deleted sandbox) is a no-op."""
        if self.state is SandboxState.DESTROYED:
            return
        with suppress(SandboxNotFound):  # deleted already, through another handle
            await self._call("DELETE")
        self.state, self.status = SandboxState.DESTROYED, SandboxState.DESTROYED.value

    async def __aenter__(self) -> RemoteSandbox:
        if self.state is SandboxState.CREATED:
            await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.destroy()

    # -- execution ----------------------------------------------------------------------------------
    async def exec(
        self,
        code: str,
        language: str | None = None,
        *,
        timeout_ms: int | UseDefault | None = USE_DEFAULT,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        stdin: bytes | str | None = None,
        context: str | None = DEFAULT_CONTEXT,
        max_output_bytes: int | UseDefault = USE_DEFAULT,
        on_output: OutputCallback | None = None,
        agent_id: str | None = None,
    ) -> ExecutionResult:
        """Run ``code`` as ``Sandbox.exec`` does; with ``on_output``, the output streams as it comes.
        ``agent_id`` is kept in the server's history (``AsyncClient.executions(agent_id=...)``)."""
        body = exec_body(
            code,
            language,
            context=context,
            timeout_ms=timeout_ms,
            env=env,
            cwd=cwd,
            stdin=stdin,
            max_output_bytes=max_output_bytes,
            agent_id=agent_id,
        )
        return await self._exec(body, on_output)

    async def run_command(
        self,
        argv: list[str],
        *,
        timeout_ms: int | UseDefault | None = USE_DEFAULT,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        stdin: bytes | str | None = None,
        max_output_bytes: int | UseDefault = USE_DEFAULT,
        on_output: OutputCallback | None = None,
        agent_id: str | None = None,
    ) -> ExecutionResult:
        """Run a program directly, no shell: ``await sb.run_command(["ls", "-la"])``."""
        body = exec_body(
            argv=argv,
            timeout_ms=timeout_ms,
            env=env,
            cwd=cwd,
            stdin=stdin,
            max_output_bytes=max_output_bytes,
            agent_id=agent_id,
        )
        return await self._exec(body, on_output)

    async def stream(self, code: str, language: str | None = None, **kwargs: Any) -> AsyncGenerator[_Item, None]:
        """Yield output chunks as they come, then the result (or raise the exec's exception)."""
        body = exec_body(code, language, **kwargs)
        async for item in self._client._stream(sandbox_path(self.id, "exec/stream"), body):
            yield item

    async def _exec(self, body: dict[str, Any], on_output: OutputCallback | None) -> ExecutionResult:
        if on_output is None:
            result = await self._client._execute(sandbox_path(self.id, "exec"), body)
        else:
            result = await _collect(self._client._stream(sandbox_path(self.id, "exec/stream"), body), on_output)
        if result.sandbox_died:  # the server stopped the sandbox: take its state and reason
            await self.refresh()
        return result

    async def reset_context(self, language: str | None = None, context: str = DEFAULT_CONTEXT) -> bool:
        """Throw away a REPL context's state (and kill what it runs); True if there was one."""
        reply = await self._call("POST", "contexts/reset", json={"language": language, "context": context})
        return bool(reply["reset"])

    # -- snapshots ----------------------------------------------------------------------------------
    async def snapshot(self, name: str = "snapshot", *, pinned: bool = False) -> SnapshotInfo:
        """Snapshot the sandbox's files on the server; past the cap the oldest unpinned one goes."""
        return SnapshotInfo.model_validate(await self._call("POST", "snapshots", json={"name": name, "pinned": pinned}))

    async def list_snapshots(self) -> list[SnapshotInfo]:
        reply = await self._call("GET", "snapshots")
        return [SnapshotInfo.model_validate(info) for info in reply["snapshots"]]

    async def get_snapshot(self, snapshot_id: str) -> SnapshotInfo:
        return SnapshotInfo.model_validate(await self._call("GET", f"snapshots/{quote(snapshot_id, safe='')}"))

    async def delete_snapshot(self, snapshot_id: str) -> None:
        await self._call("DELETE", f"snapshots/{quote(snapshot_id, safe='')}")

    async def restore(self, snapshot_id: str) -> SnapshotInfo:
        """Put the files back as the snapshot has them (the sandbox restarts: REPL state is lost)."""
        reply = await self._call("POST", f"snapshots/{quote(snapshot_id, safe='')}/restore")
        self._update(reply["sandbox"])
        return SnapshotInfo.model_validate(reply["snapshot"])

    async def rollback_to_last_success(self, agent_id: str | None = None) -> SnapshotInfo:
        reply = await self._call("POST", "rollback", json={"agent_id": agent_id})
        self._update(reply["sandbox"])
        return SnapshotInfo.model_validate(reply["snapshot"])

    async def fork(self, snapshot_id: str) -> RemoteSandbox:
        """A new sandbox on the server whose files are the snapshot's; it shares nothing with this one."""
        view = await self._call("POST", f"snapshots/{quote(snapshot_id, safe='')}/fork")
        return RemoteSandbox(self._client, view)

    async def set_policy(self, policy: SnapshotPolicy) -> None:
        """What is snapshotted around each exec, and whether a failure rolls back (kept by the server)."""
        self._update(await self._call("PUT", "snapshot-policy", json=policy.model_dump()))

    # -- files --------------------------------------------------------------------------------------
    async def write_file(self, path: str, data: bytes | str, *, mode: int = 0o644, append: bool = False) -> int:
        """Write a whole file in the workspace (atomically); returns its size. The REST API cannot
        set a mode or append: other values of those raise ``InvalidRequest``."""
        if mode != 0o644 or append:
            raise InvalidRequest("the REST API writes whole files with mode 0o644: mode= and append= cannot be sent")
        raw = data.encode() if isinstance(data, str) else data
        too_large = {"payload_too_large": FileTooLarge}
        reply = await self._call("PUT", "files", params={"path": path}, content=raw, errors=too_large)
        return int(reply["size"])

    async def read_file(self, path: str) -> bytes:
        reply = await self._client._request("GET", sandbox_path(self.id, "files"), params={"path": path})
        return reply.content

    async def list_files(self, path: str = ".") -> list[FileInfo]:
        reply = await self._call("GET", "files/list", params={"path": path})
        return [FileInfo(**entry) for entry in reply["entries"]]

    async def delete_file(self, path: str, *, recursive: bool = False) -> None:
        await self._call("DELETE", "files", params={"path": path, "recursive": "true" if recursive else "false"})


class SyncRemoteSandbox:
    """``RemoteSandbox``'s methods, blocking; ``stream`` is a plain iterator, and ``with`` deletes it."""

    def __init__(self, sandbox: RemoteSandbox, loop: _LoopThread) -> None:
        self._sandbox = sandbox
        self._loop = loop
        self.id = sandbox.id

    def __repr__(self) -> str:
        return repr(self._sandbox).replace("RemoteSandbox", "SyncRemoteSandbox", 1)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._sandbox, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute

        def blocking(*args: Any, **kwargs: Any) -> Any:
            value = attribute(*args, **kwargs)
            if isinstance(value, Coroutine):
                value = self._loop.call(value)
            if value is self._sandbox:  # start() and refresh() return the sandbox
                return self
            return SyncRemoteSandbox(value, self._loop) if isinstance(value, RemoteSandbox) else value  # fork()

        return blocking

    def __enter__(self) -> SyncRemoteSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call(self._sandbox.destroy())

    def stream(self, code: str, language: str | None = None, **kwargs: Any) -> Iterator[_Item]:
        """Output chunks as they come, then the result."""
        items = self._sandbox.stream(code, language, **kwargs)
        try:
            while True:
                try:
                    yield self._loop.call(_next(items))
                except StopAsyncIteration:
                    return
        finally:
            self._loop.call(items.aclose())


async def _next(items: AsyncIterator[_T]) -> _T:
    return await anext(items)
