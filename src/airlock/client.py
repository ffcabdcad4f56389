"""The Python SDK of the REST server: the library's sandbox methods, over HTTP.

    async with airlock.AsyncClient() as client:              # $AIRLOCK_URL, $AIRLOCK_API_KEY
        async with client.sandbox(language="python") as sb:  # a RemoteSandbox
            await sb.exec("x = 41")
            result = await sb.exec("print(x + 1)")           # "42\\n": state persists

``RemoteSandbox`` (``airlock.remote``) has ``Sandbox``'s methods and signatures, so code written
for one runs on the other; ``Client`` is the blocking twin of ``AsyncClient``. The server's error
envelope comes back as the library's own exceptions (``not_found`` -> ``SandboxNotFound``,
``invalid_state`` -> ``SandboxStateError``, ...); a URL where nothing listens raises
``ServerUnavailable``, whose message says to start one with ``airlock serve``.

Two timeouts, as in the library: ``timeout`` bounds each control-plane request (create, files,
lifecycle); an execution's reply is awaited for its own ``timeout_ms`` plus that.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from airlock.errors import (
    AirlockError,
    AuthenticationError,
    BackendUnavailable,
    CodeTooLarge,
    ConfigError,
    ControlTimeout,
    EmptyCode,
    FileOperationError,
    FileTooLarge,
    InvalidRequest,
    ModelError,
    ModelNotConfigured,
    PathOutsideWorkspace,
    PolicyDenied,
    PoolExhausted,
    PoolNotFound,
    RateLimited,
    SandboxError,
    SandboxFileNotFound,
    SandboxNotFound,
    SandboxStateError,
    ServerUnavailable,
    SnapshotError,
    SnapshotNotFound,
    UnknownLanguage,
)
from airlock.llm.chat import ChatTurn
from airlock.models import (
    USE_DEFAULT,
    ExecutionResult,
    OutputChunk,
    PoolConfig,
    PoolInfo,
    SandboxLimits,
    SnapshotPolicy,
    UseDefault,
    Verdict,
)
from airlock.remote import RemoteSandbox, SyncRemoteSandbox, exec_body, sandbox_path
from airlock.store import ExecutionRecord
from airlock.sync import _LoopThread

__all__ = ["DEFAULT_TIMEOUT_S", "DEFAULT_URL", "AsyncClient", "Client", "ClientState"]

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT_S = 60.0

_T = TypeVar("_T")

#: The envelope's stable ``code`` -> the exception the library raises for the same failure.
_ERRORS: dict[str, type[AirlockError]] = {
    "not_found": SandboxNotFound,
    "unknown_language": UnknownLanguage,
    "empty_code": EmptyCode,
    "code_too_large": CodeTooLarge,
    "invalid_request": InvalidRequest,
    "validation_error": InvalidRequest,
    "payload_too_large": InvalidRequest,
    "invalid_settings": ConfigError,
    "invalid_state": SandboxStateError,
    "sandbox_lost": SandboxStateError,
    "file_not_found": SandboxFileNotFound,
    "path_outside_workspace": PathOutsideWorkspace,
    "file_too_large": FileTooLarge,
    "file_error": FileOperationError,
    "sandbox_timeout": ControlTimeout,
    "sandbox_failed": SandboxError,
    "pool_not_found": PoolNotFound,
    "pool_exhausted": PoolExhausted,
    "pool_exists": ConfigError,
    "snapshot_not_found": SnapshotNotFound,
    "snapshot_failed": SnapshotError,
    "model_not_configured": ModelNotConfigured,
    "model_failed": ModelError,
}


# -- the wire: errors, results, server-sent events ---------------------------------------------------
def _error(code: str, message: str, retry_after: str | None = None) -> AirlockError:
    """The exception for an error envelope's ``code`` (``AirlockError`` for a code this SDK does not know)."""
    if code.startswith("too_many_"):
        return RateLimited(message, float(retry_after) if retry_after and retry_after.isdigit() else None)
    if code in ("backend_unavailable", "backend_not_allowed"):
        match = re.match(r"backend '([^']*)'", message)
        error = BackendUnavailable(match.group(1) if match else "", message)
        error.args = (message,)
        return error
    if code == "unauthorized":
        hint = "set AIRLOCK_API_KEY or pass api_key; `airlock keys create --name NAME` makes a key"
        return AuthenticationError(f"{message} ({hint})")
    if code == "forbidden":
        return AuthenticationError(message)
    return _ERRORS.get(code, AirlockError)(message)


def _raise_for_status(response: httpx.Response, overrides: Mapping[str, type[AirlockError]] | None = None) -> None:
    if response.is_success:
        return
    try:
        detail = response.json()["error"]
        code, message = str(detail["code"]), str(detail["message"])
    except (ValueError, KeyError, TypeError):
        raise AirlockError(f"the server answered HTTP {response.status_code}: {response.text[:200]}") from None
    if overrides and code in overrides:
        raise overrides[code](message)
    if code in ("policy_denied", "rate_limited") and isinstance(detail.get("details", {}).get("verdict"), dict):
        retry = response.headers.get("retry-after")
        verdict = Verdict.model_validate(detail["details"]["verdict"])
        raise PolicyDenied(verdict, retry_after=float(retry) if retry and retry.isdigit() else None)
    raise _error(code, message, response.headers.get("retry-after"))


@contextmanager
def _transport_errors(url: str) -> Iterator[None]:
    """Translate httpx's transport failures into the library's exceptions, at the boundary."""
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise ServerUnavailable(
            f"no Airlock server answers at {url} ({exc}): start one with `airlock serve`, or set AIRLOCK_URL"
        ) from exc
    except httpx.TimeoutException as exc:
        raise ControlTimeout(f"the Airlock server at {url} did not answer in time ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise ServerUnavailable(f"lost the connection to the Airlock server at {url}: {exc}") from exc


def _result(view: dict[str, Any]) -> ExecutionResult:
    """An ``ExecutionResult`` from the server's execution; its ``execution_id`` goes in the metadata."""
    execution_id = view.pop("execution_id", None)
    known = ExecutionResult.model_fields  # a newer server may say more: this SDK keeps what it knows
    result = ExecutionResult.model_validate({key: value for key, value in view.items() if key in known})
    if execution_id is not None:
        result.metadata["execution_id"] = execution_id
    return result


async def _server_sent_events(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    data: list[str]
    event, data = "message", []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


def _segment(name: str) -> str:
    """A name as one URL path segment (a ``/`` or ``..`` in it cannot reach another route)."""
    return quote(name, safe="")


def _limits(limits: SandboxLimits | Mapping[str, Any] | None) -> dict[str, Any]:
    """Only the limits the caller set: the server keeps its defaults for the rest."""
    if isinstance(limits, SandboxLimits):
        return limits.model_dump(exclude_unset=True)
    return dict(limits or {})


class ClientState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class AsyncClient:
    """A connection to an Airlock server. ``url`` defaults to ``$AIRLOCK_URL`` (else
    ``http://127.0.0.1:8080``), ``api_key`` to ``$AIRLOCK_API_KEY``; ``timeout`` (seconds, ``None``
    for none) bounds each control-plane request."""

    def __init__(
        self, url: str | None = None, api_key: str | None = None, *, timeout: float | None = DEFAULT_TIMEOUT_S
    ) -> None:
        self.url = (url or os.environ.get("AIRLOCK_URL") or DEFAULT_URL).rstrip("/")
        key = api_key if api_key is not None else os.environ.get("AIRLOCK_API_KEY")
        self.timeout = timeout
        self.state = ClientState.OPEN
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.AsyncClient(base_url=self.url, headers=headers, timeout=timeout)

    def __repr__(self) -> str:
        return f"<AsyncClient {self.url} {self.state.value}>"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections (sandboxes stay on the server). Closing twice is a no-op."""
        self.state = ClientState.CLOSED
        await self._http.aclose()

    # -- sandboxes ----------------------------------------------------------------------------------
    async def create_sandbox(
        self,
        language: str = "python",
        backend: str | None = None,
        limits: SandboxLimits | Mapping[str, Any] | None = None,
        env: dict[str, str] | None = None,
        *,
        pool: str | None = None,
        snapshot_policy: SnapshotPolicy | None = None,
    ) -> RemoteSandbox:
        """A new, running sandbox; the limits not given keep the server's defaults. With ``pool``, one
        taken from that warm pool, whose template decides the language, backend and limits;
        ``snapshot_policy``: snapshots around each exec, and rollback on failure."""
        body: dict[str, Any] = {"backend": backend, "limits": _limits(limits), "env": dict(env or {})}
        if snapshot_policy is not None:
            body["snapshot_policy"] = snapshot_policy.model_dump()
        body.update({"pool": pool} if pool is not None else {"language": language})
        return RemoteSandbox(self, (await self._request("POST", "/v1/sandboxes", json=body)).json())

    @asynccontextmanager
    async def sandbox(self, **kwargs: Any) -> AsyncIterator[RemoteSandbox]:
        """``async with client.sandbox(language="python") as sb``: created on entry, deleted on exit."""
        sandbox = await self.create_sandbox(**kwargs)
        try:
            yield sandbox
        finally:
            await sandbox.destroy()

    async def get_sandbox(self, sandbox_id: str) -> RemoteSandbox:
        return RemoteSandbox(self, (await self._request("GET", sandbox_path(sandbox_id))).json())

    async def list_sandboxes(self) -> list[RemoteSandbox]:
        """This API key's tenant's sandboxes (created, running, stopped or lost)."""
        views = (await self._request("GET", "/v1/sandboxes")).json()["sandboxes"]
        return [RemoteSandbox(self, view) for view in views]

    # -- execution and history ----------------------------------------------------------------------
    async def run(
        self,
        code: str,
        language: str | None = None,
        *,
        timeout_ms: int | UseDefault | None = USE_DEFAULT,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        stdin: bytes | str | None = None,
        max_output_bytes: int | UseDefault = USE_DEFAULT,
        backend: str | None = None,
        agent_id: str | None = None,
        pool: str | None = None,
    ) -> ExecutionResult:
        """Run ``code`` once: ``await client.run("print(1)")``. It runs in a fresh process of a sandbox
        from a warm pool (``pool``, or the one that fits), which is reset after: nothing of this run is
        left for the next. ``language`` defaults to Python, or to the pool's."""
        body = exec_body(
            code,
            language,
            context=None,  # a fresh process: the sandbox is deleted after
            timeout_ms=timeout_ms,
            env=env,
            cwd=cwd,
            stdin=stdin,
            max_output_bytes=max_output_bytes,
            agent_id=agent_id,
        )
        body["backend"] = backend
        body["pool"] = pool
        return await self._execute("/v1/run", body)

    async def executions(
        self,
        sandbox_id: str | None = None,
        agent_id: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[ExecutionRecord]:
        """The history, newest first; ``status`` is ok, error, timeout, killed or sandbox_died."""
        filters = {"sandbox_id": sandbox_id, "agent_id": agent_id, "status": status, "since": since, "until": until}
        params = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in filters.items() if v is not None}
        reply = await self._request("GET", "/v1/executions", params={**params, "limit": limit})
        return [ExecutionRecord.model_validate(record) for record in reply.json()["executions"]]

    async def check_policy(
        self,
        code: str = "",
        language: str = "python",
        *,
        argv: list[str] | None = None,
        role: str | None = None,
        backend: str | None = None,
    ) -> Verdict:
        """The policy's verdict on code, nothing run (``role``: admin keys only)."""
        body = {"code": code, "language": language, "argv": argv, "role": role, "backend": backend}
        reply = await self._request("POST", "/v1/policy/check", json={k: v for k, v in body.items() if v is not None})
        return Verdict.model_validate(reply.json())

    # -- agent chat ---------------------------------------------------------------------------------
    async def chat(
        self, agent_id: str, message: str, *, model: str | None = None, max_steps: int | None = None
    ) -> ChatTurn:
        """Send ``message`` to the agent's conversation on the server (made on first use): the model
        answers, its code runs in the agent's own sandbox there; the final reply and every step.
        The server bounds each model call and each block, so the reply is awaited without a limit."""
        body = {"message": message, "model": model, "max_steps": max_steps}
        path = f"/v1/agents/{_segment(agent_id)}/chat"
        timeout = httpx.Timeout(self.timeout, read=None)
        given = {key: value for key, value in body.items() if value is not None}
        reply = await self._request("POST", path, json=given, timeout=timeout)
        return ChatTurn.model_validate(reply.json())

    async def end_chat(self, agent_id: str) -> None:
        """End the agent's conversation and destroy its sandbox (``SandboxNotFound`` if it has none)."""
        await self._request("DELETE", f"/v1/agents/{_segment(agent_id)}/chat")

    # -- warm pools ---------------------------------------------------------------------------------
    async def pools(self) -> list[PoolInfo]:
        """The server's warm pools: settings, sandboxes by state, counters, boot-phase times."""
        reply = await self._request("GET", "/v1/pools")
        return [PoolInfo.model_validate(pool) for pool in reply.json()["pools"]]

    async def pool(self, name: str) -> PoolInfo:
        return PoolInfo.model_validate((await self._request("GET", f"/v1/pools/{_segment(name)}")).json())

    async def create_pool(self, config: PoolConfig) -> PoolInfo:
        """Declare a pool (an admin key only); it starts prewarming at once."""
        reply = await self._request("POST", "/v1/pools", json=config.model_dump(mode="json", exclude_unset=True))
        return PoolInfo.model_validate(reply.json())

    async def delete_pool(self, name: str) -> None:
        """Close a pool (an admin key only); its idle sandboxes are destroyed."""
        await self._request("DELETE", f"/v1/pools/{_segment(name)}")

    # -- the wire -----------------------------------------------------------------------------------
    def _exec_timeout(self, body: Mapping[str, Any]) -> httpx.Timeout:
        """Wait for an execution's reply as long as its own timeout allows, plus the control timeout.
        Without a ``timeout_ms`` the server applies its default, and enforces it: no read limit here."""
        timeout_ms = body.get("timeout_ms")
        read = None if timeout_ms is None or self.timeout is None else timeout_ms / 1000 + self.timeout
        return httpx.Timeout(self.timeout, read=read)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        errors: Mapping[str, type[AirlockError]] | None = None,
        timeout: httpx.Timeout | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        self._require_open()
        with _transport_errors(self.url):
            response = await self._http.request(method, path, timeout=timeout or self._http.timeout, **kwargs)
        _raise_for_status(response, errors)
        return response

    async def _execute(self, path: str, body: dict[str, Any]) -> ExecutionResult:
        return _result((await self._request("POST", path, json=body, timeout=self._exec_timeout(body))).json())

    async def _stream(self, path: str, body: dict[str, Any]) -> AsyncIterator[OutputChunk | ExecutionResult]:
        """POST an exec to the server-sent-events endpoint: chunks as they come, then the result."""
        self._require_open()
        with _transport_errors(self.url):
            async with self._http.stream("POST", path, json=body, timeout=self._exec_timeout(body)) as response:
                if not response.is_success:
                    await response.aread()
                    _raise_for_status(response)
                async for event, data in _server_sent_events(response):
                    payload = json.loads(data)
                    if event in ("stdout", "stderr"):
                        yield OutputChunk.model_validate({"stream": event, "data": payload["data"]})
                    elif event == "result":
                        yield _result(payload)
                        return
                    elif event == "error":
                        raise _error(payload["error"]["code"], payload["error"]["message"])
        raise ServerUnavailable(f"the Airlock server at {self.url} ended the stream without a result")

    def _require_open(self) -> None:
        if self.state is ClientState.CLOSED:
            raise SandboxStateError("this client is closed")


class Client:
    """The blocking twin of ``AsyncClient``, with the same methods (its event loop runs in a thread):

    with airlock.Client() as client:
        print(client.run("print(6 * 7)").stdout)
        with client.sandbox(language="python") as sb:
            sb.exec("x = 41")
            print(sb.exec("print(x + 1)").stdout)
    """

    def __init__(
        self, url: str | None = None, api_key: str | None = None, *, timeout: float | None = DEFAULT_TIMEOUT_S
    ) -> None:
        self._loop = _LoopThread()
        self._client = self._loop.call(_open(url, api_key, timeout))

    def __repr__(self) -> str:
        return repr(self._client).replace("AsyncClient", "Client", 1)

    @property
    def url(self) -> str:
        return self._client.url

    @property
    def state(self) -> ClientState:
        return self._client.state

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections and the loop's thread (sandboxes stay on the server)."""
        if self._loop.thread.is_alive():
            self._loop.call(self._client.aclose())
            self._loop.stop()

    def _call(self, method: Callable[..., Coroutine[Any, Any, _T]], *args: Any, **kwargs: Any) -> _T:
        self._client._require_open()
        return self._loop.call(method(*args, **kwargs))

    def create_sandbox(
        self,
        language: str = "python",
        backend: str | None = None,
        limits: SandboxLimits | Mapping[str, Any] | None = None,
        env: dict[str, str] | None = None,
        *,
        pool: str | None = None,
        snapshot_policy: SnapshotPolicy | None = None,
    ) -> SyncRemoteSandbox:
        sandbox = self._call(
            self._client.create_sandbox, language, backend, limits, env, pool=pool, snapshot_policy=snapshot_policy
        )
        return SyncRemoteSandbox(sandbox, self._loop)

    @contextmanager
    def sandbox(self, **kwargs: Any) -> Iterator[SyncRemoteSandbox]:
        """``with client.sandbox(language="python") as sb``: created on entry, deleted on exit."""
        with self.create_sandbox(**kwargs) as sandbox:
            yield sandbox

    def get_sandbox(self, sandbox_id: str) -> SyncRemoteSandbox:
        return SyncRemoteSandbox(self._call(self._client.get_sandbox, sandbox_id), self._loop)

    def list_sandboxes(self) -> list[SyncRemoteSandbox]:
        return [SyncRemoteSandbox(sandbox, self._loop) for sandbox in self._call(self._client.list_sandboxes)]

    def run(self, code: str, language: str | None = None, **options: Any) -> ExecutionResult:
        """``AsyncClient.run``, blocking; ``options`` are its keyword arguments."""
        return self._call(self._client.run, code, language, **options)

    def executions(self, **filters: Any) -> list[ExecutionRecord]:
        """``AsyncClient.executions``, blocking; ``filters`` are its keyword arguments."""
        return self._call(self._client.executions, **filters)

    def check_policy(self, code: str = "", language: str = "python", **options: Any) -> Verdict:
        """``AsyncClient.check_policy``, blocking."""
        return self._call(self._client.check_policy, code, language, **options)

    def chat(self, agent_id: str, message: str, **options: Any) -> ChatTurn:
        """``AsyncClient.chat``, blocking."""
        return self._call(self._client.chat, agent_id, message, **options)

    def end_chat(self, agent_id: str) -> None:
        self._call(self._client.end_chat, agent_id)

    def pools(self) -> list[PoolInfo]:
        return self._call(self._client.pools)

    def pool(self, name: str) -> PoolInfo:
        return self._call(self._client.pool, name)

    def create_pool(self, config: PoolConfig) -> PoolInfo:
        return self._call(self._client.create_pool, config)

    def delete_pool(self, name: str) -> None:
        self._call(self._client.delete_pool, name)


async def _open(url: str | None, api_key: str | None, timeout: float | None) -> AsyncClient:
    return AsyncClient(url, api_key, timeout=timeout)
