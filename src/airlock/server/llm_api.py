"""The seeds' execution API, for clients written against it: ``/api/llm/execute`` and
``/api/llm/parse-execute`` (run the fenced code blocks of an LLM reply, in order)."""

from __future__ import annotations

from fastapi import APIRouter

from airlock.llm import extract_code_blocks
from airlock.models import ExecutionResult
from airlock.server.errors import ErrorBody
from airlock.server.routes import Svc, Who
from airlock.server.schemas import (
    ExecBody,
    LlmExecute,
    LlmExecuteResult,
    LlmParseExecute,
    LlmParseExecuteResult,
    RunBody,
)
from airlock.server.service import SandboxService
from airlock.store import utcnow

__all__ = ["execute", "llm", "parse_execute"]

_ERRORS = {status: {"model": ErrorBody} for status in (401, 404, 409, 413, 422, 429)}
llm = APIRouter(prefix="/api/llm", responses=_ERRORS)  # type: ignore[arg-type]


def _timeout_ms(seconds: float | None, ms: int | None) -> int | None:
    return ms if ms is not None else None if seconds is None else max(1, int(seconds * 1000))


async def _execute(svc: SandboxService, who: Who, request: LlmExecute) -> LlmExecuteResult:
    started = utcnow()
    timeout = _timeout_ms(request.timeout_seconds, request.timeout_ms)
    common = {
        "code": request.code,
        "language": request.language,
        "timeout_ms": timeout,
        "cwd": request.working_dir,
        "agent_id": request.agent_id,
    }
    if request.vm_id is None:
        execution_id, result = await svc.run(who, RunBody(**common))
    else:
        execution_id, result = await svc.exec(who, request.vm_id, ExecBody(**common))
    return _reply(execution_id, request, result, started)


def _reply(execution_id: str, request: LlmExecute, result: ExecutionResult, started: object) -> LlmExecuteResult:
    return LlmExecuteResult(
        execution_id=execution_id,
        agent_id=request.agent_id,
        vm_id=request.vm_id,
        language=request.language,
        stdout=result.stdout,
        stderr=result.stderr,
        exit_code=result.exit_code,
        success=result.success,
        timed_out=result.timed_out,
        duration_ms=result.execution_time_ms,
        started_at=started,
        completed_at=utcnow(),
        error=f"{result.error.name}: {result.error.value}" if result.error else None,
    )


@llm.post("/execute")
async def execute(body: LlmExecute, who: Who, svc: Svc) -> LlmExecuteResult:
    return await _execute(svc, who, body)


@llm.post("/parse-execute")
async def parse_execute(body: LlmParseExecute, who: Who, svc: Svc) -> LlmParseExecuteResult:
    blocks = extract_code_blocks(body.llm_response)
    results: list[LlmExecuteResult] = []
    skipped = [
        {"index": b.index, "tag": b.tag, "reason": "not a language Airlock runs"} for b in blocks if not b.language
    ]
    stopped_early = False
    for block in (b for b in blocks if b.language):
        request = LlmExecute(
            agent_id=body.agent_id,
            language=block.language or "",
            code=block.code,
            vm_id=body.vm_id,
            timeout_seconds=body.timeout_seconds,
            timeout_ms=body.timeout_ms,
        )
        outcome = await _execute(svc, who, request)
        results.append(outcome)
        if body.stop_on_failure and not outcome.success:
            stopped_early = len(results) < len([b for b in blocks if b.language])
            break
    return LlmParseExecuteResult(
        blocks_found=len(blocks), results=results, skipped=skipped, stopped_early=stopped_early
    )
