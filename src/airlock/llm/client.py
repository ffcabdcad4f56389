"""Model clients over HTTP: ``OpenAIClient`` for any OpenAI-compatible ``POST {base_url}/chat/completions``
and ``OllamaClient`` for Ollama's ``POST {base_url}/api/chat``. Both are ``ChatModel``\\ s::

    async with make_client(load_settings().llm) as model:      # or client_from_env()
        completion = await model.complete([{"role": "user", "content": "Say hi"}])
        print(completion.text, completion.usage.cost_usd, model.usage.total_tokens)

A call that fails on a 429, a 5xx, a connection error or a timeout is retried up to ``max_retries``
times, after a wait drawn uniformly from ``[0, min(backoff_cap_s, backoff_base_s * 2**n)]`` (full
jitter), or after the server's ``Retry-After`` seconds (up to ``retry_after_cap_s``). Any other 4xx
fails at once. Either way a call that fails for good raises ``ModelError`` with the last HTTP status
(None when no answer came) and the number of attempts. Each attempt, from connecting to the last
byte, is bounded by ``timeout_s``.

The API key goes only into the ``Authorization: Bearer`` header: it is in no repr, log line or
exception message (a server echoing it back has it cut out).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from abc import ABC, abstractmethod
from enum import StrEnum
from typing import Any, ClassVar

import httpx

from airlock.config import LlmConfig, load_settings
from airlock.errors import ModelError, ModelNotConfigured
from airlock.llm.base import Completion, Message, Usage
from airlock.llm.prices import cost_usd, price_for

__all__ = [
    "MAX_ERROR_CHARS",
    "HttpChatModel",
    "ModelClientState",
    "OllamaClient",
    "OpenAIClient",
    "client_from_env",
    "make_client",
]

logger = logging.getLogger(__name__)

#: How much of a server's error message an exception quotes.
MAX_ERROR_CHARS = 300


class ModelClientState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class HttpChatModel(ABC):
    """What both clients share: the connection, retries with backoff, token usage and cost.
    ``usage`` totals every call this client made."""

    path: ClassVar[str]

    def __init__(self, config: LlmConfig) -> None:
        if not config.base_url:
            raise ModelNotConfigured(_not_configured("base_url", "https://api.openai.com/v1"))
        if not config.model:
            raise ModelNotConfigured(_not_configured("model", "gpt-5-mini"))
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self.usage = Usage()
        self.state = ModelClientState.OPEN
        self._model = config.model
        self._secret = config.resolve_api_key()
        headers = {"Authorization": f"Bearer {self._secret}"} if self._secret else {}
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=config.timeout_s)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._model} at {self.base_url} {self.state.value}>"

    @property
    def model(self) -> str:
        return self._model

    @property
    def sub_model(self) -> str:
        """The model for sub-calls (``llm.sub_model``), else the default model."""
        return self.config.sub_model or self._model

    async def __aenter__(self) -> HttpChatModel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections. Closing twice is a no-op; a closed client refuses calls."""
        self.state = ModelClientState.CLOSED
        await self._http.aclose()

    async def complete(
        self,
        messages: list[Message],
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """The model's reply to ``messages``; ``model`` overrides the default for this call.
        ``latency_ms`` spans all attempts, waits included."""
        if self.state is ModelClientState.CLOSED:
            raise ModelError(f"the model client for {self.base_url} is closed")
        name = model or self._model
        started = time.perf_counter()
        reply, attempts = await self._post(self._payload(messages, name, max_tokens, temperature))
        try:
            completion = self._parse(reply, messages, name)
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            message = f"{self.base_url} answered, but not with a chat reply (no {exc})"
            raise ModelError(message, status=200, attempts=attempts) from exc
        completion.latency_ms = (time.perf_counter() - started) * 1000
        completion.attempts = attempts
        self.usage.add(completion.usage)
        return completion

    # -- the protocol, per provider -----------------------------------------------------------------
    @abstractmethod
    def _payload(
        self, messages: list[Message], model: str, max_tokens: int | None, temperature: float | None
    ) -> dict[str, Any]:
        """The request body of one call in the provider's protocol."""

    @abstractmethod
    def _parse(self, reply: dict[str, Any], messages: list[Message], model: str) -> Completion:
        """The completion in the provider's reply (``KeyError`` and the like when it holds none)."""

    def _usage(self, model: str, served_by: str, prompt_tokens: int, completion_tokens: int) -> Usage:
        """Counts, priced by the name the call asked for, else by the one that answered."""
        price = price_for(model, self.config.prices) or price_for(served_by, self.config.prices)
        cost = cost_usd(price, prompt_tokens, completion_tokens) if price else 0.0
        return Usage(prompt_tokens, completion_tokens, cost, calls=1, unpriced_calls=0 if price else 1)

    # -- one call, with its retries -----------------------------------------------------------------
    async def _post(self, payload: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """The reply's JSON and the number of attempts it took."""
        attempt = 0
        while True:
            attempt += 1
            status, reason, retry_after, cause = await self._attempt(payload)
            if status is not None and status < 300:
                return _json_object(reason), attempt
            if status is not None and status != 429 and status < 500:
                message = f"{self.base_url} refused the call: HTTP {status}: {reason}"
                raise ModelError(message, status=status, attempts=attempt)
            failure = f"HTTP {status}: {reason}" if status is not None else reason
            if attempt > self.config.max_retries:
                message = f"the model call to {self.base_url} failed after {attempt} attempt(s): {failure}"
                raise ModelError(message, status=status, attempts=attempt) from cause
            delay = self._delay(attempt, retry_after)
            logger.warning(
                "model call to %s failed (%s); retry %d of %d in %.2f s",
                self.base_url,
                failure,
                attempt,
                self.config.max_retries,
                delay,
            )
            await asyncio.sleep(delay)

    async def _attempt(self, payload: dict[str, Any]) -> tuple[int | None, str, float | None, Exception | None]:
        """(status, the body or the reason there was none, Retry-After seconds, the exception)."""
        try:
            async with asyncio.timeout(self.config.timeout_s):
                response = await self._http.post(self.path, json=payload)
        except (TimeoutError, httpx.TimeoutException) as exc:
            return None, f"no reply within {self.config.timeout_s:g} s", None, exc
        except httpx.TransportError as exc:
            return None, self._redact(f"cannot reach {self.base_url}: {type(exc).__name__}: {exc}"), None, exc
        if response.is_success:
            return response.status_code, response.text, None, None
        return response.status_code, self._error_message(response), _retry_after(response), None

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.config.retry_after_cap_s)
        ceiling = min(self.config.backoff_cap_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not security

    def _error_message(self, response: httpx.Response) -> str:
        """The server's own words: OpenAI's ``error.message``, Ollama's ``error``, else the body."""
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            error = error.get("message")
        text = " ".join(str(error if isinstance(error, str) else response.text or response.reason_phrase).split())
        text = self._redact(text)
        return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "[api key]") if self._secret else text


class OpenAIClient(HttpChatModel):
    """Any server of OpenAI's chat-completions protocol (OpenAI, vLLM, llama.cpp, LiteLLM, ...):
    ``base_url`` ends where ``/chat/completions`` begins, as in ``https://api.openai.com/v1``."""

    path = "chat/completions"

    def _payload(
        self, messages: list[Message], model: str, max_tokens: int | None, temperature: float | None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": model, "messages": messages}
        if max_tokens is not None:
            payload[_max_tokens_field(model)] = max_tokens
        if temperature is not None:
            payload["temperature"] = temperature
        return payload

    def _parse(self, reply: dict[str, Any], messages: list[Message], model: str) -> Completion:
        choice = reply["choices"][0]
        text = choice["message"].get("content") or ""
        served_by = str(reply.get("model") or model)
        counts = reply.get("usage") or {}
        prompt = _count(counts.get("prompt_tokens"), _prompt_chars(messages))
        completion = _count(counts.get("completion_tokens"), len(text))
        usage = self._usage(model, served_by, prompt, completion)
        return Completion(text, served_by, usage, finish_reason=choice.get("finish_reason"))


class OllamaClient(HttpChatModel):
    """An Ollama server's native chat API (not streamed): ``base_url`` like ``http://127.0.0.1:11434``."""

    path = "api/chat"

    def _payload(
        self, messages: list[Message], model: str, max_tokens: int | None, temperature: float | None
    ) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if max_tokens is not None:
            options["num_predict"] = max_tokens
        if temperature is not None:
            options["temperature"] = temperature
        return {"model": model, "messages": messages, "stream": False, **({"options": options} if options else {})}

    def _parse(self, reply: dict[str, Any], messages: list[Message], model: str) -> Completion:
        text = reply["message"].get("content") or ""
        served_by = str(reply.get("model") or model)
        prompt = _count(reply.get("prompt_eval_count"), _prompt_chars(messages))
        completion = _count(reply.get("eval_count"), len(text))
        usage = self._usage(model, served_by, prompt, completion)
        return Completion(text, served_by, usage, finish_reason=reply.get("done_reason"))


def make_client(config: LlmConfig) -> HttpChatModel:
    """The client ``config.provider`` names. Raises ``ModelNotConfigured`` (saying what to set) when
    there is no ``base_url`` or ``model``, ``ConfigError`` when the API key cannot be read."""
    return OllamaClient(config) if config.provider == "ollama" else OpenAIClient(config)


def client_from_env() -> HttpChatModel:
    """``make_client`` with the settings' ``[llm]``: the config file, under ``AIRLOCK_LLM__*`` env vars
    (``AIRLOCK_LLM__BASE_URL``, ``AIRLOCK_LLM__MODEL``, ``AIRLOCK_LLM__API_KEY``, ``AIRLOCK_LLM__PROVIDER``)."""
    return make_client(load_settings().llm)


def _not_configured(field: str, example: str) -> str:
    return (
        f"no model is configured: set llm.{field} ({field} = {example!r} under [llm] in "
        f"$AIRLOCK_HOME/config.toml, or the env var AIRLOCK_LLM__{field.upper()})"
    )


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a date is not honoured: the backoff applies then)."""
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None


def _max_tokens_field(model: str) -> str:
    """OpenAI's reasoning models (o1, o3, o4, gpt-5) take only ``max_completion_tokens``; other
    servers know ``max_tokens``."""
    bare = model.rsplit("/", 1)[-1]
    reasoning = bare.startswith("gpt-5") or (len(bare) > 1 and bare[0] == "o" and bare[1].isdigit())
    return "max_completion_tokens" if reasoning else "max_tokens"


def _count(reported: object, chars: int) -> int:
    """The server's count when it gave one, else an estimate at 4 characters a token."""
    return reported if isinstance(reported, int) and reported >= 0 else (chars + 3) // 4


def _prompt_chars(messages: list[Message]) -> int:
    return sum(len(message["content"]) for message in messages)
