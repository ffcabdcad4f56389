"""Agent chat: a multi-turn conversation with a model whose code runs in the agent's own sandbox::

    async with Runtime() as rt, make_client(load_settings().llm) as model:
        async with AgentChat(rt, model, agent_id="analyst") as chat:
            turn = await chat.send("How many primes are there below 10 000?")
            print(turn.reply, turn.usage.cost_usd)

Each ``send`` adds the user's message to the conversation, then, up to ``max_steps`` times: asks
the model, runs the code blocks of its reply (``run_blocks``: in order, through the policy and the
history, stopping at the first failure) and shows it their outputs (cut to ``feedback_chars``) as
the next user message. A reply with no block to run ends the turn: it is the answer. A turn that
uses up its steps ends too; the outputs of its last blocks reach the model with the next message.

The sandbox is made on the first block to run and kept between turns, so files and REPL state
(Python, JavaScript, Bash) carry over from one message to the next; ``close`` destroys it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from airlock.errors import InvalidRequest, ModelError, SandboxStateError
from airlock.languages import LANGUAGES
from airlock.llm.base import ChatModel, Message, Usage
from airlock.llm.blocks import extract_code_blocks
from airlock.llm.runner import FEEDBACK_CHARS, BlocksResult, run_blocks, skipped
from airlock.models import USE_DEFAULT, SandboxState

if TYPE_CHECKING:
    from airlock.runtime import Runtime
    from airlock.sandbox import Sandbox

__all__ = [
    "DEFAULT_MAX_STEPS",
    "AgentChat",
    "ChatOptions",
    "ChatState",
    "ChatStep",
    "ChatTurn",
    "SandboxFactory",
    "system_prompt",
]

DEFAULT_MAX_STEPS = 4
#: Makes the agent's sandbox (default: ``runtime.create_sandbox`` with the options' language and backend).
SandboxFactory = Callable[[], Awaitable["Sandbox"]]


class ChatOptions(BaseModel):
    """How a conversation runs."""

    model_config = ConfigDict(extra="forbid")
    max_steps: int = Field(DEFAULT_MAX_STEPS, ge=1, le=64, description="model calls per user message")
    language: str = Field("python", description="the sandbox's language")
    default_language: str | None = Field(None, description="for unlabeled blocks; None: they are not run")
    backend: str | None = Field(None, description="the sandbox's backend (default: the configured one)")
    role: str | None = Field(None, description="the policy role the code is judged for (default: default_role)")
    timeout_ms: int | None = Field(None, ge=1, description="each block's timeout (default: default_timeout_ms)")
    stop_on_failure: bool = True
    retries: int = Field(2, ge=0, description="of a block whose sandbox died under it")
    feedback_chars: int = Field(FEEDBACK_CHARS, ge=200, description="of output shown to the model per step")
    max_tokens: int | None = Field(None, ge=1, description="of each reply")
    temperature: float | None = Field(None, ge=0)
    system_prompt: str | None = Field(None, description="in place of the built-in one (system_prompt())")


class ChatStep(BaseModel):
    """One model call and what became of the code in its reply."""

    reply: str
    model: str
    blocks: BlocksResult
    usage: Usage
    latency_ms: float = 0.0
    finish_reason: str | None = None


class ChatTurn(BaseModel):
    """What one user message led to. ``reply``: the model's last reply (its answer when
    ``stop_reason`` is ``answered``; with ``max_steps``, the reply whose blocks ran last)."""

    agent_id: str
    reply: str
    steps: list[ChatStep]
    usage: Usage
    stop_reason: Literal["answered", "max_steps"]
    sandbox_id: str | None = None


class ChatState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class AgentChat:
    """A conversation of ``agent_id`` with ``model``; see the module's docstring. ``messages`` is the
    conversation so far (the system prompt first), ``usage`` the tokens and cost of all its calls.
    One message is answered at a time (``busy`` while one is)."""

    def __init__(
        self,
        runtime: Runtime,
        model: ChatModel,
        *,
        agent_id: str,
        options: ChatOptions | None = None,
        sandbox_factory: SandboxFactory | None = None,
    ) -> None:
        self.runtime = runtime
        self.model = model
        self.agent_id = agent_id
        self.options = options or ChatOptions()
        prompt = self.options.system_prompt or system_prompt(self.options.max_steps, self.options.feedback_chars)
        self.messages: list[Message] = [{"role": "system", "content": prompt}]
        self.usage = Usage()
        self.sandbox: Sandbox | None = None
        self.state = ChatState.OPEN
        self._factory = sandbox_factory or self._create_sandbox
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"<AgentChat {self.agent_id} {len(self.messages)} messages {self.state.value}>"

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def is_closed(self) -> bool:
        """Whether ``close`` was called (also while a message was being answered)."""
        return self.state is ChatState.CLOSED

    async def __aenter__(self) -> AgentChat:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """End the conversation and destroy its sandbox. Closing twice is a no-op."""
        self.state = ChatState.CLOSED
        sandbox, self.sandbox = self.sandbox, None
        if sandbox is not None:
            await self._discard(sandbox)

    async def send(
        self,
        message: str,
        *,
        model: str | None = None,
        max_steps: int | None = None,
        on_step: Callable[[ChatStep], None] | None = None,
    ) -> ChatTurn:
        """Answer one user message (see the module's docstring); ``model`` overrides the client's
        model and ``max_steps`` the options' for this message; ``on_step`` hears of each step as it
        ends. Raises ``ModelError`` when a model call fails for good: if it was the first of the
        turn, the message is not kept, so it can be sent again."""
        if not message.strip():
            raise InvalidRequest("there is no message to send")
        steps_allowed = max_steps or self.options.max_steps
        if steps_allowed < 1:
            raise InvalidRequest("max_steps must be at least 1")
        async with self._lock:
            if self.state is ChatState.CLOSED:
                raise SandboxStateError(f"the chat of agent {self.agent_id!r} is closed; start a new one")
            before = list(self.messages)
            self._add_user(message)
            steps: list[ChatStep] = []
            while True:
                try:
                    step = await self._step(model)
                except ModelError:
                    if not steps:
                        self.messages = before
                    raise
                if self.is_closed():  # closed while the model answered: stop here
                    raise SandboxStateError(f"the chat of agent {self.agent_id!r} was closed while it answered")
                steps.append(step)
                if on_step is not None:
                    on_step(step)
                if not step.blocks.runnable:
                    return self._turn(steps, "answered")
                self._add_user(_feedback(step.blocks, self.options.feedback_chars))
                if len(steps) >= steps_allowed:
                    return self._turn(steps, "max_steps")

    async def _step(self, model: str | None) -> ChatStep:
        options = self.options
        completion = await self.model.complete(
            self.messages, model=model, max_tokens=options.max_tokens, temperature=options.temperature
        )
        self.usage.add(completion.usage)
        self.messages.append({"role": "assistant", "content": completion.text})
        return ChatStep(
            reply=completion.text,
            model=completion.model,
            blocks=await self._run(completion.text),
            usage=completion.usage,
            latency_ms=completion.latency_ms,
            finish_reason=completion.finish_reason,
        )

    async def _run(self, reply: str) -> BlocksResult:
        """Run the reply's blocks in the agent's sandbox (made now if there is something to run)."""
        options = self.options
        blocks = extract_code_blocks(reply, default_language=options.default_language)
        if not any(block.language is not None for block in blocks):
            return BlocksResult(blocks=[skipped(block) for block in blocks])
        return await run_blocks(
            await self._sandbox(),
            blocks,
            stop_on_failure=options.stop_on_failure,
            retries=options.retries,
            agent_id=self.agent_id,
            role=options.role,
            timeout_ms=USE_DEFAULT if options.timeout_ms is None else options.timeout_ms,
        )

    async def _sandbox(self) -> Sandbox:
        if self.is_closed():  # never a new sandbox for a conversation that has ended
            raise SandboxStateError(f"the chat of agent {self.agent_id!r} was closed while it answered")
        if self.sandbox is None or self.sandbox.state is SandboxState.DESTROYED:
            sandbox = await self._factory()
            if self.is_closed():  # closed while it was being made (mypy: a call, not narrowed)
                await self._discard(sandbox)
                raise SandboxStateError(f"the chat of agent {self.agent_id!r} was closed while it answered")
            self.sandbox = sandbox
        return self.sandbox

    async def _discard(self, sandbox: Sandbox) -> None:
        await sandbox.destroy()
        self.runtime.detach(sandbox.id)

    async def _create_sandbox(self) -> Sandbox:
        return await self.runtime.create_sandbox(language=self.options.language, backend=self.options.backend)

    def _add_user(self, content: str) -> None:
        """A user message; one right after another user message (the outputs of a turn that ran out
        of steps, then the next message) is joined to it, as some chat templates want turns to alternate."""
        last = self.messages[-1]
        if last["role"] == "user":
            self.messages[-1] = {"role": "user", "content": f"{last['content']}\n\n{content}"}
        else:
            self.messages.append({"role": "user", "content": content})

    def _turn(self, steps: list[ChatStep], reason: Literal["answered", "max_steps"]) -> ChatTurn:
        usage = Usage()
        for step in steps:
            usage.add(step.usage)
        sandbox_id = self.sandbox.id if self.sandbox is not None else None
        return ChatTurn(
            agent_id=self.agent_id,
            reply=steps[-1].reply,
            steps=steps,
            usage=usage,
            stop_reason=reason,
            sandbox_id=sandbox_id,
        )


def _feedback(blocks: BlocksResult, max_chars: int) -> str:
    return (
        "The code blocks of your reply ran, in order, in your sandbox:\n\n"
        f"{blocks.feedback(max_chars)}\n\n"
        "Go on: fix what failed, or run more code. When you are done, answer without any code block."
    )


def system_prompt(max_steps: int = DEFAULT_MAX_STEPS, feedback_chars: int = FEEDBACK_CHARS) -> str:
    """The built-in system prompt: the sandbox, how to write blocks that run, and when to stop."""
    languages = ", ".join(LANGUAGES)
    return f"""You are an agent with a sandbox: an isolated Linux machine of your own, kept for this \
whole conversation. You can run code in it by writing fenced code blocks tagged with their language \
({languages}), for example:

```python
import platform
print(platform.python_version())
```

How it works:
- When your reply ends, every tagged block in it runs, in order, in the sandbox. You are then shown \
each block's exit code and output, and you continue. If a block fails, the blocks after it do not run.
- Only what the code prints is shown to you (a bare expression is not echoed), and at most about \
{feedback_chars:,} characters of output per reply: print summaries, not whole data sets.
- Python, JavaScript and Bash blocks run in persistent sessions: variables, imports, functions and \
the working directory carry over to later blocks and later messages. Files you write in the working \
directory stay too. Rust and Go blocks are compiled and run as whole programs.
- Blocks with another tag (text, json, console, ...) or no tag are not run: use them to show text.
- A security policy judges every block before it runs and may refuse it; nothing of a refused block \
runs. Network access is normally not available.
- You have at most {max_steps} replies per user message. When you have the answer, reply without \
any code block: that reply is the answer the user sees."""
