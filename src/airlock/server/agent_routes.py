"""Agent chat over REST: ``POST /v1/agents/{agent_id}/chat`` answers one message of the agent's
conversation (made on first use), whose code runs in the agent's own sandbox; ``DELETE`` ends the
conversation and destroys that sandbox.

Conversations belong to the API key's tenant: another tenant's ``agent_id`` of the same name is
another conversation. Their sandboxes are the server's, not the tenant's (they are not listed in
``/v1/sandboxes``), but they count towards ``server.max_sandboxes_per_tenant``; their executions go
into the tenant's history under the agent's id. They live as long as the conversation: the server
destroys them when it stops, and a restart after a crash removes what is left of them.

The model is the server's ``[llm]``; without one, the answer is 409 ``model_not_configured``,
saying what to set. A model call that fails for good is 502 ``model_failed``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from airlock.errors import ConfigError, ModelError, ModelNotConfigured
from airlock.llm.base import ChatModel
from airlock.llm.chat import AgentChat, ChatOptions, ChatTurn, SandboxFactory
from airlock.models import ExecutionResult
from airlock.sandbox import Recorder, Sandbox
from airlock.server.auth import Principal
from airlock.server.errors import ApiError
from airlock.server.routes import ERROR_RESPONSES, Who
from airlock.server.service import LIVE, SandboxService

__all__ = ["AgentChats", "AgentId", "ChatBody", "Chats", "agent_chats", "agents", "chat", "end_chat"]

logger = logging.getLogger(__name__)


class AgentChats:
    """The server's conversations, by tenant and agent id, and the model client they share."""

    def __init__(self, service: SandboxService) -> None:
        self.service = service
        self._chats: dict[tuple[str, str], AgentChat] = {}
        self._model: ChatModel | None = None

    def model(self) -> ChatModel:
        """The ``[llm]`` client, made on first use; 409 when there is none to make."""
        if self._model is None:
            from airlock.llm.client import make_client

            try:
                self._model = make_client(self.service.settings.llm)
            except (ModelNotConfigured, ConfigError) as exc:
                raise ApiError(409, "model_not_configured", f"agent chat needs a model: {exc}") from exc
        return self._model

    async def conversation(self, who: Principal, agent_id: str) -> AgentChat:
        """The tenant's conversation of ``agent_id``, made if there is none (within the tenant's room)."""
        model = self.model()
        key = (who.tenant, agent_id)
        if key not in self._chats:
            await self._check_room(who)
        if key in self._chats:  # (another request may have made it meanwhile)
            chat = self._chats[key]
            if chat.options.role != who.role:  # its code is judged for its role; another key's must not borrow it
                theirs, ours = (
                    f"role {role!r}" if role else "the default role" for role in (chat.options.role, who.role)
                )
                message = f"agent {agent_id!r} talks under {theirs}; this key has {ours}"
                raise ApiError(409, "chat_role", message + ": use a key of that role, or end the conversation")
            return chat
        options = ChatOptions(role=who.role)
        chat = AgentChat(
            self.service.runtime, model, agent_id=agent_id, options=options, sandbox_factory=self._factory(who)
        )
        self._chats[key] = chat
        await self.service.audit(who, "agent.chat.start", agent_id)
        return chat

    async def end(self, who: Principal, agent_id: str) -> None:
        chat = self._chats.pop((who.tenant, agent_id), None)
        if chat is None:
            raise ApiError(404, "not_found", f"agent {agent_id!r} has no conversation")
        sandbox_id = chat.sandbox.id if chat.sandbox is not None else None
        await chat.close()
        await self.service.audit(who, "agent.chat.end", agent_id, sandbox_id=sandbox_id)

    async def aclose(self) -> None:
        """End every conversation (their sandboxes destroyed), then close the model client."""
        chats, self._chats = list(self._chats.values()), {}
        outcomes = await asyncio.gather(*(chat.close() for chat in chats), return_exceptions=True)
        for chat, outcome in zip(chats, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                logger.error("could not destroy the sandbox of agent chat %s: %s", chat.agent_id, outcome)
        if self._model is not None:
            await self._model.aclose()

    async def _check_room(self, who: Principal) -> None:
        """429 when the tenant's live sandboxes and conversations reach its sandbox limit."""
        limit = self.service.settings.server.max_sandboxes_per_tenant
        sandboxes = len(await self.service.store.list_sandboxes(who.tenant, LIVE))
        chats = sum(tenant == who.tenant for tenant, _ in self._chats)
        if sandboxes + chats >= limit:
            message = f"tenant has {sandboxes} live sandboxes and {chats} agent chats; the limit is {limit} together"
            raise ApiError(429, "too_many_sandboxes", message, retry_after=10)

    def _factory(self, who: Principal) -> SandboxFactory:
        """Makes the agent's sandbox: the server's backend, its executions in the tenant's history."""
        service = self.service

        async def make() -> Sandbox:
            allowed = service.settings.server.allowed_backends
            backend = service.settings.backend if service.settings.backend in allowed else allowed[0]
            sandbox = await service.runtime.create_sandbox(language="python", backend=backend)
            sandbox.recorder = _recorder(service, who)
            sandbox.role = who.role
            return sandbox

        return make


def _recorder(service: SandboxService, who: Principal) -> Recorder:
    async def record(result: ExecutionResult, **what: Any) -> None:
        record = await service.history.record(result, tenant=who.tenant, **what)
        service.metrics.observe_exec(what["language"], record.status, result.execution_time_ms / 1000)

    return record


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Inside the app's own: the service is up before, and still up while the chats are ended."""
    app.state.agents = AgentChats(app.state.service)
    try:
        yield
    finally:
        chats, app.state.agents = app.state.agents, None
        await chats.aclose()


agents = APIRouter(prefix="/v1/agents", tags=["agents"], responses=ERROR_RESPONSES, lifespan=_lifespan)  # type: ignore[arg-type]


def agent_chats(request: Request) -> AgentChats:
    chats: AgentChats | None = getattr(request.app.state, "agents", None)
    if chats is None:
        raise ApiError(503, "not_ready", "the server is starting or stopping; try again", retry_after=1)
    return chats


Chats = Annotated[AgentChats, Depends(agent_chats)]
AgentId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$")]


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=1_000_000, description="what the user says")
    model: str | None = Field(None, min_length=1, max_length=256, description="in place of [llm] model")
    max_steps: int | None = Field(None, ge=1, le=32, description="model calls for this message (default 4)")


@agents.post("/{agent_id}/chat")
async def chat(agent_id: AgentId, body: ChatBody, who: Who, chats: Chats) -> ChatTurn:
    """Send a message to the agent's conversation: the model answers, the code blocks of its replies
    run in the agent's sandbox (through the policy), their output goes back to it, up to
    ``max_steps`` model calls; the final reply, every step (blocks, results, verdicts) and the usage."""
    if not body.message.strip():
        raise ApiError(422, "invalid_request", "there is no message to send")
    conversation = await chats.conversation(who, agent_id)
    if conversation.busy:
        raise ApiError(409, "chat_busy", f"agent {agent_id!r} is still answering a message; wait for it")
    try:
        return await conversation.send(body.message, model=body.model, max_steps=body.max_steps)
    except ModelError as exc:
        raise ApiError(502, "model_failed", str(exc), model_status=exc.status, attempts=exc.attempts) from exc


@agents.delete("/{agent_id}/chat", status_code=204)
async def end_chat(agent_id: AgentId, who: Who, chats: Chats) -> Response:
    """End the agent's conversation and destroy its sandbox."""
    await chats.end(who, agent_id)
    return Response(status_code=204)
