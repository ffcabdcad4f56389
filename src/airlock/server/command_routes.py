"""Markdown commands over REST (``airlock.commands``): ``GET /v1/commands``, ``GET
/v1/commands/{name}`` (a name or an alias) and ``POST /v1/commands/{name}/run``.

A run is a one-shot execution for the API key's role, like ``POST /v1/run``: the same per-tenant
limit, the same history. A command the policy refuses (or whose permissions the key's role does not
all hold) is a 403 ``policy_denied`` with the verdict;
bad parameters are a 422 ``invalid_parameters``, a request that misses the command's required
concepts a 422 ``concepts_missing`` whose details carry the feedback to rephrase it (the body's
``intent`` is checked with the values; ``attempt`` counts the rephrasings before, and at
``max_retries`` the refusal escalates); an unknown command a 404 ``command_not_found`` with
suggestions. The server reads the command folders at start and again whenever a file in them
changes (once more as soon as it watches them, so no change in between is lost).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from airlock.commands import CommandDefinition, CommandView, Registry, command_dirs
from airlock.config import Settings
from airlock.errors import CommandNotFound, ConceptsMissing
from airlock.server.errors import ApiError
from airlock.server.routes import ERROR_RESPONSES, Svc, Who, execution_view
from airlock.server.schemas import ExecutionView

__all__ = [
    "CommandList",
    "CommandRun",
    "Commands",
    "command_registry",
    "commands",
    "get_command",
    "list_commands",
    "run_command",
]

logger = logging.getLogger(__name__)

commands = APIRouter(prefix="/v1/commands", tags=["commands"], responses=ERROR_RESPONSES)  # type: ignore[arg-type]


class CommandList(BaseModel):
    commands: list[CommandView]
    problems: list[str] = Field(description="admin keys only: the files that do not load, with file and line")


class CommandRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    params: dict[str, Any] = Field(default_factory=dict, description="name -> value, each of its parameter's type")
    agent_id: str | None = Field(None, max_length=256)
    intent: str | None = Field(
        None, max_length=4096, description="what the request is for, checked against knowledge_graph_required"
    )
    attempt: int = Field(0, ge=0, description="the rephrasings before this one: at max_retries a refusal escalates")


class Commands:
    """The server's registry and the task that reloads it when a file changes."""

    def __init__(self, settings: Settings) -> None:
        self.registry: Registry | None = None
        self._settings = settings
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        registry = Registry(command_dirs(self._settings), max_depth=self._settings.commands.max_depth)
        await asyncio.to_thread(registry.reload)
        for problem in registry.errors:
            logger.warning("command not loaded: %s", problem)
        self.registry = registry
        self._task = asyncio.get_running_loop().create_task(registry.watch(stop_event=self._stop, on_reload=_log))
        self._task.add_done_callback(_watch_ended)

    async def aclose(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def _watch_ended(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("command folders are no longer watched: %s", task.exception())


def _log(problems: list[Any]) -> None:
    logger.info("commands reloaded; %d files with problems", len(problems))
    for problem in problems:
        logger.warning("command not loaded: %s", problem)


def command_registry(request: Request) -> Registry:
    state: Commands | None = getattr(request.app.state, "commands", None)
    if state is None or state.registry is None:
        raise ApiError(503, "not_ready", "the server is starting or stopping; try again", retry_after=1)
    return state.registry


_Reg = Annotated[Registry, Depends(command_registry)]


def _resolve(registry: Registry, name: str) -> CommandDefinition:
    try:
        return registry.resolve(name)
    except CommandNotFound as exc:
        raise ApiError(404, "command_not_found", str(exc), suggestions=exc.suggestions) from None


@commands.get("")
async def list_commands(who: Who, registry: _Reg) -> CommandList:
    """Every command in force (the files that do not load: for admin keys)."""
    problems = [str(problem) for problem in registry.errors] if who.admin else []
    return CommandList(commands=[CommandView.of(c) for c in registry.commands()], problems=problems)


@commands.get("/{name}")
async def get_command(name: str, who: Who, registry: _Reg) -> CommandView:
    """One command, by name or alias: its parameters, mode, risk and script."""
    return CommandView.of(_resolve(registry, name))


@commands.post("/{name}/run")
async def run_command(name: str, body: CommandRun, who: Who, svc: Svc, registry: _Reg) -> ExecutionView:
    """Run a command with ``params`` for the key's role, through the policy (403 when it refuses)."""
    definition = _resolve(registry, name)
    try:
        ran = await svc.run_command(
            who, definition, body.params, body.agent_id, intent=body.intent, attempt=body.attempt
        )
        return execution_view(*ran)
    except ConceptsMissing as exc:
        raise ApiError(
            422,
            "concepts_missing",
            str(exc),
            missing=exc.missing,
            feedback=exc.feedback,
            retry=exc.retry,
            escalate=exc.escalate,
        ) from None
