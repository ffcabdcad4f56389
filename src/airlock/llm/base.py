"""What every model client gives and takes: chat messages in, a ``Completion`` out, with its token
usage and cost. The OpenAI-compatible and Ollama clients (``airlock.llm.client``) both speak it, so
the code-block runner, agent chat and the RLM loop never know which one they hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, TypedDict

__all__ = ["ChatModel", "Completion", "Message", "Usage"]


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass
class Usage:
    """Tokens as the server counted them (or estimated at 4 characters a token when it did not say),
    and what they cost by the model's price (0.0 for a model with no price: such calls are counted in
    ``unpriced_calls``, so a cost of 0.0 is not mistaken for free)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    unpriced_calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd
        self.calls += other.calls
        self.unpriced_calls += other.unpriced_calls


@dataclass
class Completion:
    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    latency_ms: float = 0.0
    finish_reason: str | None = None
    attempts: int = 1


class ChatModel(Protocol):
    """A model that answers a conversation. ``model`` overrides the client's default model for one
    call. Raises ``airlock.errors.ModelError`` when the call fails for good (after its retries)."""

    @property
    def model(self) -> str: ...

    async def complete(
        self,
        messages: list[Message],
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion: ...

    async def aclose(self) -> None: ...
