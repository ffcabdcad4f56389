"""The HTTP routes: ``/v1`` (sandboxes, exec, files, REPL contexts, history, one-shot run) and the
seeds' ``/api/llm`` execution API. Thin: each calls the ``SandboxService``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from airlock.models import ExecutionResult, OutputChunk, PoolConfig, PoolInfo
from airlock.pool import Pool
from airlock.server.auth import Principal, hash_key
from airlock.server.errors import ApiError, ErrorBody, describe
from airlock.server.schemas import (
    ContextReset,
    CreateSandbox,
    ExecBody,
    ExecutionList,
    ExecutionView,
    FileEntry,
    FileList,
    PoolList,
    RunBody,
    SandboxList,
    SandboxView,
    Written,
)
from airlock.server.service import SandboxService
from airlock.store import SandboxRecord

__all__ = [
    "ERROR_RESPONSES",
    "Svc",
    "Who",
    "create_pool",
    "create_sandbox",
    "delete_file",
    "delete_pool",
    "delete_sandbox",
    "download_file",
    "exec_in_sandbox",
    "exec_stream",
    "execution_view",
    "get_pool",
    "get_sandbox",
    "list_executions",
    "list_files",
    "list_pools",
    "list_sandboxes",
    "make_dir",
    "pool_view",
    "reset_context",
    "run_once",
    "service",
    "start_sandbox",
    "stop_sandbox",
    "upload_file",
    "v1",
    "view",
    "who",
]

ERROR_RESPONSES = {status: {"model": ErrorBody} for status in (401, 403, 404, 409, 413, 422, 429, 502, 503, 504)}
v1 = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)  # type: ignore[arg-type]


def service(request: Request) -> SandboxService:
    svc: SandboxService = request.app.state.service
    return svc


async def who(request: Request) -> Principal:
    """The caller, from ``Authorization: Bearer <key>``; 401 without a valid key."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise ApiError(401, "unauthorized", "send an API key: Authorization: Bearer <key>")
    principal = await service(request).principal(hash_key(key.strip()))
    if principal is None:
        raise ApiError(401, "unauthorized", "unknown API key")
    return principal


Who = Annotated[Principal, Depends(who)]
Svc = Annotated[SandboxService, Depends(service)]


def view(record: SandboxRecord, svc: SandboxService) -> SandboxView:
    sandbox = svc.runtime.get(record.id)
    capabilities = sorted(c.value for c in sandbox.capabilities) if sandbox is not None else []
    return SandboxView(
        id=record.id,
        status=record.status,
        backend=record.backend,
        language=record.language,
        limits=record.limits.model_dump(),
        capabilities=capabilities,
        snapshot_policy=record.policy,
        quarantined=record.quarantined,
        last_error=record.last_error,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def execution_view(execution_id: str, result: ExecutionResult) -> ExecutionView:
    return ExecutionView(execution_id=execution_id, **result.model_dump())


# -- sandboxes --------------------------------------------------------------------------------------
@v1.post("/sandboxes", status_code=201)
async def create_sandbox(body: CreateSandbox, who: Who, svc: Svc) -> SandboxView:
    return view(await svc.create(who, body), svc)


@v1.get("/sandboxes")
async def list_sandboxes(who: Who, svc: Svc) -> SandboxList:
    return SandboxList(sandboxes=[view(r, svc) for r in await svc.list(who)])


@v1.get("/sandboxes/{sandbox_id}")
async def get_sandbox(sandbox_id: str, who: Who, svc: Svc) -> SandboxView:
    return view(await svc.record(who, sandbox_id), svc)


@v1.post("/sandboxes/{sandbox_id}/stop")
async def stop_sandbox(sandbox_id: str, who: Who, svc: Svc) -> SandboxView:
    return view(await svc.stop(who, sandbox_id), svc)


@v1.post("/sandboxes/{sandbox_id}/start")
async def start_sandbox(sandbox_id: str, who: Who, svc: Svc) -> SandboxView:
    return view(await svc.start(who, sandbox_id), svc)


@v1.delete("/sandboxes/{sandbox_id}", status_code=204)
async def delete_sandbox(sandbox_id: str, who: Who, svc: Svc) -> Response:
    await svc.delete(who, sandbox_id)
    return Response(status_code=204)


# -- execution --------------------------------------------------------------------------------------
@v1.post("/sandboxes/{sandbox_id}/exec")
async def exec_in_sandbox(sandbox_id: str, body: ExecBody, who: Who, svc: Svc) -> ExecutionView:
    return execution_view(*await svc.exec(who, sandbox_id, body))


@v1.post(
    "/sandboxes/{sandbox_id}/exec/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "stdout/stderr events, then result"}},
)
async def exec_stream(sandbox_id: str, body: ExecBody, who: Who, svc: Svc) -> StreamingResponse:
    """Server-sent events: ``stdout`` and ``stderr`` (``{"data": text}``) as they come, then one
    ``result`` (the execution) or ``error`` (the error envelope)."""
    await svc.record(who, sandbox_id)  # a 404 before the stream starts
    queue: asyncio.Queue[OutputChunk | tuple[str, str] | None] = asyncio.Queue()

    async def run() -> None:
        try:
            result = execution_view(*await svc.exec(who, sandbox_id, body, on_output=queue.put_nowait))
            queue.put_nowait(("result", result.model_dump_json()))
        except Exception as exc:  # noqa: BLE001 - reported in the stream, whose status is already 200
            status, code, message = describe(exc)
            details: dict[str, object] = {"status": status, **getattr(exc, "details", {})}
            if getattr(exc, "retry_after", None) is not None:
                details["retry_after"] = exc.retry_after  # type: ignore[attr-defined]
            envelope = {"error": {"code": code, "message": message, "details": details}}
            queue.put_nowait(("error", json.dumps(envelope)))
        finally:
            queue.put_nowait(None)

    task = asyncio.create_task(run())

    async def events() -> AsyncIterator[str]:
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, OutputChunk):
                    yield f"event: {item.stream}\ndata: {json.dumps({'data': item.data})}\n\n"
                else:
                    yield f"event: {item[0]}\ndata: {item[1]}\n\n"
        finally:
            task.cancel()  # the client went away: the exec is cancelled, and the agent kills it

    return StreamingResponse(events(), media_type="text/event-stream")


@v1.post("/run")
async def run_once(body: RunBody, who: Who, svc: Svc) -> ExecutionView:
    """Run code in a sandbox of its own, destroyed after (spilled output is kept on the server)."""
    return execution_view(*await svc.run(who, body))


@v1.post("/sandboxes/{sandbox_id}/contexts/reset")
async def reset_context(sandbox_id: str, body: ContextReset, who: Who, svc: Svc) -> dict[str, bool]:
    """Throw away a REPL context's state (Python globals, node scope, bash session)."""
    async with svc.operation(who, sandbox_id) as sandbox:
        return {"reset": await sandbox.reset_context(body.language, body.context)}


@v1.get("/executions")
async def list_executions(
    who: Who,
    svc: Svc,
    sandbox_id: str | None = None,
    agent_id: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ExecutionList:
    records = await svc.history.query(
        tenant=who.tenant,
        sandbox_id=sandbox_id,
        agent_id=agent_id,
        status=status,
        since=since,
        until=until,
        limit=limit,
    )
    return ExecutionList(executions=records)


# -- files ------------------------------------------------------------------------------------------
_FilePath = Annotated[str, Query(min_length=1, max_length=4096, description="relative to the workspace")]


@v1.put(
    "/sandboxes/{sandbox_id}/files",
    openapi_extra={
        "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
async def upload_file(
    sandbox_id: str,
    path: _FilePath,
    request: Request,
    who: Who,
    svc: Svc,
    mode: Annotated[int, Query(ge=0, le=0o777)] = 0o644,
    append: bool = False,
) -> Written:
    """Write the request's body to the file (atomically, unless appending)."""
    async with svc.operation(who, sandbox_id) as sandbox:
        size = await sandbox.write_file(path, await request.body(), mode=mode, append=append)
        return Written(path=path, size=size)


@v1.post("/sandboxes/{sandbox_id}/files/mkdir", status_code=204)
async def make_dir(sandbox_id: str, path: _FilePath, who: Who, svc: Svc) -> Response:
    async with svc.operation(who, sandbox_id) as sandbox:
        await sandbox.make_dir(path)
        return Response(status_code=204)


@v1.get(
    "/sandboxes/{sandbox_id}/files",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_file(sandbox_id: str, path: _FilePath, who: Who, svc: Svc) -> Response:
    async with svc.operation(who, sandbox_id) as sandbox:
        return Response(await sandbox.read_file(path), media_type="application/octet-stream")


@v1.get("/sandboxes/{sandbox_id}/files/list")
async def list_files(sandbox_id: str, who: Who, svc: Svc, path: _FilePath = ".") -> FileList:
    async with svc.operation(who, sandbox_id) as sandbox:
        entries = [FileEntry(**vars(e)) for e in await sandbox.list_files(path)]
        return FileList(entries=entries)


@v1.delete("/sandboxes/{sandbox_id}/files", status_code=204)
async def delete_file(sandbox_id: str, path: _FilePath, who: Who, svc: Svc, recursive: bool = False) -> Response:
    async with svc.operation(who, sandbox_id) as sandbox:
        await sandbox.delete_file(path, recursive=recursive)
        return Response(status_code=204)


# -- warm pools -------------------------------------------------------------------------------------
def pool_view(pool: Pool) -> PoolInfo:
    return PoolInfo(name=pool.name, config=pool.config, stats=pool.stats())


def _admin(who: Principal) -> None:
    if not who.admin:
        raise ApiError(403, "forbidden", "pools are shared by every tenant; managing them takes an admin key")


@v1.get("/pools")
async def list_pools(who: Who, svc: Svc) -> PoolList:
    """Every warm pool: its template and settings, what it holds, its counters and boot-phase times."""
    return PoolList(pools=[pool_view(pool) for pool in svc.runtime.pools])


@v1.get("/pools/{name}")
async def get_pool(name: str, who: Who, svc: Svc) -> PoolInfo:
    return pool_view(svc.runtime.pools.get(name))


@v1.post("/pools", status_code=201)
async def create_pool(config: PoolConfig, who: Who, svc: Svc) -> PoolInfo:
    """Declare a pool (admin keys only); it starts prewarming at once. Lasts until the server stops
    (declare it in the config file to keep it)."""
    _admin(who)
    return pool_view(await svc.declare_pool(who, config))


@v1.delete("/pools/{name}", status_code=204)
async def delete_pool(name: str, who: Who, svc: Svc) -> Response:
    """Close a pool (admin keys only): its idle sandboxes are destroyed, and so are those leased for
    one-shot runs; sandboxes already handed over to a tenant are theirs and stay."""
    _admin(who)
    await svc.remove_pool(who, name)
    return Response(status_code=204)
