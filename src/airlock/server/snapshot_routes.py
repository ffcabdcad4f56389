"""The snapshot routes: take, list, restore, delete, fork, roll back, and the per-sandbox policy.

A restore stops the sandbox's processes, puts its files back and starts it again (REPL state is
lost: snapshots hold files, not memory). One that fails part way leaves the sandbox quarantined
(``quarantined`` in its view; execs answer 409) until a restore succeeds or it is deleted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Response
from pydantic import BaseModel

from airlock.models import SnapshotPolicy
from airlock.sandbox import Sandbox
from airlock.server.auth import Principal
from airlock.server.routes import ERROR_RESPONSES, Svc, Who, view
from airlock.server.schemas import Rollback, SandboxView, SnapshotList, TakeSnapshot
from airlock.server.service import SandboxService
from airlock.snapshots import SnapshotInfo

__all__ = [
    "Restored",
    "delete_snapshot",
    "fork_snapshot",
    "get_snapshot",
    "list_snapshots",
    "restore_snapshot",
    "rollback",
    "set_snapshot_policy",
    "snapshots",
    "take_snapshot",
]

snapshots = APIRouter(prefix="/v1/sandboxes/{sandbox_id}", tags=["snapshots"], responses=ERROR_RESPONSES)  # type: ignore[arg-type]


class Restored(BaseModel):
    snapshot: SnapshotInfo
    sandbox: SandboxView


@asynccontextmanager
async def _changing(svc: SandboxService, who: Principal, sandbox_id: str) -> AsyncIterator[Sandbox]:
    """The sandbox, alone (no stop or start meanwhile); its record follows what happened to it,
    also when that failed (a restore that failed part way quarantines it)."""
    record, sandbox = await svc.handle(who, sandbox_id)
    async with svc.lock(sandbox_id):
        try:
            yield sandbox
        finally:
            await svc.sync(record, sandbox)


@snapshots.post("/snapshots", status_code=201)
async def take_snapshot(sandbox_id: str, body: TakeSnapshot, who: Who, svc: Svc) -> SnapshotInfo:
    """Snapshot the sandbox's files (workspace, /tmp, /usr/local where the backend has them)."""
    _, sandbox = await svc.handle(who, sandbox_id)
    info = await sandbox.snapshot(body.name, pinned=body.pinned)
    await svc.audit(who, "snapshot.create", sandbox_id, snapshot=info.id, name=info.name)
    return info


@snapshots.get("/snapshots")
async def list_snapshots(sandbox_id: str, who: Who, svc: Svc) -> SnapshotList:
    _, sandbox = await svc.handle(who, sandbox_id)
    return SnapshotList(snapshots=await sandbox.list_snapshots())


@snapshots.get("/snapshots/{snapshot_id}")
async def get_snapshot(sandbox_id: str, snapshot_id: str, who: Who, svc: Svc) -> SnapshotInfo:
    _, sandbox = await svc.handle(who, sandbox_id)
    return await sandbox.get_snapshot(snapshot_id)


@snapshots.delete("/snapshots/{snapshot_id}", status_code=204)
async def delete_snapshot(sandbox_id: str, snapshot_id: str, who: Who, svc: Svc) -> Response:
    _, sandbox = await svc.handle(who, sandbox_id)
    await sandbox.delete_snapshot(snapshot_id)
    await svc.audit(who, "snapshot.delete", sandbox_id, snapshot=snapshot_id)
    return Response(status_code=204)


@snapshots.post("/snapshots/{snapshot_id}/restore")
async def restore_snapshot(sandbox_id: str, snapshot_id: str, who: Who, svc: Svc) -> Restored:
    """Put the sandbox's files back as the snapshot has them, byte for byte, or refuse (a snapshot
    that fails its checksums changes nothing)."""
    async with _changing(svc, who, sandbox_id) as sandbox:
        info = await sandbox.restore(snapshot_id)
    await svc.audit(who, "snapshot.restore", sandbox_id, snapshot=info.id)
    return Restored(snapshot=info, sandbox=view(await svc.record(who, sandbox_id), svc))


@snapshots.post("/rollback")
async def rollback(sandbox_id: str, body: Rollback, who: Who, svc: Svc) -> Restored:
    """Restore the state after the agent's last successful exec."""
    async with _changing(svc, who, sandbox_id) as sandbox:
        info = await sandbox.rollback_to_last_success(body.agent_id)
    await svc.audit(who, "snapshot.rollback", sandbox_id, snapshot=info.id, agent_id=body.agent_id)
    return Restored(snapshot=info, sandbox=view(await svc.record(who, sandbox_id), svc))


@snapshots.post("/snapshots/{snapshot_id}/fork", status_code=201)
async def fork_snapshot(sandbox_id: str, snapshot_id: str, who: Who, svc: Svc) -> SandboxView:
    """A new sandbox whose files are the snapshot's, running; it shares nothing with this one."""
    return view(await svc.fork(who, sandbox_id, snapshot_id), svc)


@snapshots.put("/snapshot-policy")
async def set_snapshot_policy(sandbox_id: str, body: SnapshotPolicy, who: Who, svc: Svc) -> SandboxView:
    """What is snapshotted around each exec of this sandbox, and whether a failure rolls back."""
    async with _changing(svc, who, sandbox_id) as sandbox:
        sandbox.policy = body
    await svc.audit(who, "sandbox.policy", sandbox_id, policy=body.model_dump())
    return view(await svc.record(who, sandbox_id), svc)
