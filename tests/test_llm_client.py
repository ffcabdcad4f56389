"""The model clients against ``ScriptedModelServer``: real HTTP on loopback, scripted replies and
failures; retries, usage and cost, the API key kept secret, both protocols, the settings."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from airlock import ConfigError, load_settings
from airlock.config import LlmConfig
from airlock.errors import ModelError, ModelNotConfigured
from airlock.llm import Message
from airlock.llm.client import MAX_ERROR_CHARS, OllamaClient, OpenAIClient, client_from_env, make_client
from airlock.llm.prices import DEFAULT_PRICES, ModelPrice, price_for
from airlock.llm.scripted import Delay, Entry, Fail, Responder, ScriptedModelServer

KEY = "sk-test-0123456789abcdef"
HELLO: list[Message] = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]

Serve = Callable[..., ScriptedModelServer]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AIRLOCK_* variable of the caller's; a private home without a config file."""
    for name in list(os.environ):
        if name.startswith("AIRLOCK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start a scripted server; every one is stopped at teardown."""
    servers: list[ScriptedModelServer] = []

    def start(script: Iterable[Entry] | Responder = (), **kwargs: Any) -> ScriptedModelServer:
        servers.append(ScriptedModelServer(script, **kwargs).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def config(server: ScriptedModelServer, **overrides: Any) -> LlmConfig:
    """Settings for ``server`` with retries that wait milliseconds, not seconds."""
    fast = {"backoff_base_s": 0.001, "backoff_cap_s": 0.005, "timeout_s": 5.0}
    return LlmConfig(**{"base_url": server.base_url, "model": "scripted", **fast, **overrides})


# -- a call and what it counts ----------------------------------------------------------------------
async def test_a_reply_comes_back_with_its_usage_and_cost(serve: Serve) -> None:
    server = serve(["Hello there!", "Hi again."])

    async with OpenAIClient(config(server, model="gpt-4o-mini")) as client:
        first = await client.complete(HELLO)
        second = await client.complete(HELLO)

    price = DEFAULT_PRICES["gpt-4o-mini"]
    prompt_tokens = (len("Be brief.") + 3) // 4 + (len("Say hello.") + 3) // 4
    assert (first.text, first.model, first.finish_reason, first.attempts) == ("Hello there!", "gpt-4o-mini", "stop", 1)
    assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (prompt_tokens, 3)
    assert first.usage.cost_usd == pytest.approx((prompt_tokens * 0.15 + 3 * price.output_per_m) / 1e6)
    assert first.usage.unpriced_calls == 0
    assert first.latency_ms > 0
    assert second.text == "Hi again."
    assert (client.usage.calls, client.usage.total_tokens) == (2, first.usage.total_tokens + second.usage.total_tokens)
    assert client.usage.cost_usd == pytest.approx(first.usage.cost_usd + second.usage.cost_usd)
    assert server.chat_requests[0].body == {"model": "gpt-4o-mini", "messages": HELLO}


async def test_a_model_without_a_price_costs_nothing_and_is_counted_as_unpriced(serve: Serve) -> None:
    server = serve(["ok"])

    async with OpenAIClient(config(server, model="my-local-model")) as client:
        completion = await client.complete(HELLO)

    assert (completion.usage.cost_usd, completion.usage.unpriced_calls) == (0.0, 1)
    assert client.usage.unpriced_calls == 1


async def test_prices_in_the_settings_win_over_the_list_prices(serve: Serve) -> None:
    server = serve(["x" * 400])
    prices = {"gpt-4o": ModelPrice(input_per_m=0.0, output_per_m=1_000_000.0)}

    async with OpenAIClient(config(server, model="gpt-4o", prices=prices)) as client:
        completion = await client.complete([{"role": "user", "content": ""}])

    assert completion.usage.cost_usd == pytest.approx(100.0)  # 100 completion tokens at $1 each


async def test_usage_is_estimated_at_four_characters_a_token_when_the_server_gives_none(serve: Serve) -> None:
    bare = {"model": "gpt-4o", "choices": [{"message": {"role": "assistant", "content": "y" * 40}}]}
    server = serve([Fail(200, bare)])  # a hand-made 200 reply, without "usage"

    async with OpenAIClient(config(server)) as client:
        completion = await client.complete([{"role": "user", "content": "z" * 81}])

    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (21, 10)
    assert completion.model == "gpt-4o"
    assert completion.finish_reason is None


def test_prices_are_found_under_dated_and_prefixed_names() -> None:
    assert price_for("gpt-4o-2024-08-06") == DEFAULT_PRICES["gpt-4o"]
    assert price_for("openai/gpt-5-mini") == DEFAULT_PRICES["gpt-5-mini"]
    assert price_for("gpt-4o-mini") == DEFAULT_PRICES["gpt-4o-mini"]  # not gpt-4o's
    assert price_for("llama3.1:8b") is None


# -- retries ----------------------------------------------------------------------------------------
async def test_a_429_waits_for_its_retry_after_then_succeeds(serve: Serve) -> None:
    server = serve([Fail(429, "Rate limit reached", retry_after=0.2), "ok"])

    async with OpenAIClient(config(server)) as client:
        started = time.monotonic()
        completion = await client.complete(HELLO)
        elapsed = time.monotonic() - started

    assert (completion.text, completion.attempts, server.played) == ("ok", 2, 2)
    assert 0.2 <= elapsed < 1.0
    assert client.usage.calls == 1


async def test_a_long_retry_after_is_capped(serve: Serve) -> None:
    server = serve([Fail(429, retry_after=3600), "ok"])

    async with OpenAIClient(config(server, retry_after_cap_s=0.05)) as client:
        started = time.monotonic()
        assert (await client.complete(HELLO)).text == "ok"

    assert time.monotonic() - started < 1.0


async def test_5xx_replies_are_retried_then_the_call_succeeds(serve: Serve) -> None:
    server = serve([Fail(500), Fail(503, "overloaded"), "ok"])

    async with OpenAIClient(config(server)) as client:
        completion = await client.complete(HELLO)

    assert (completion.text, completion.attempts, server.played) == ("ok", 3, 3)


async def test_the_call_gives_up_after_max_retries(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    server = serve([Fail(502, "bad gateway")] * 5)

    async with OpenAIClient(config(server, max_retries=3)) as client:
        with pytest.raises(ModelError) as caught:
            await client.complete(HELLO)

    assert (caught.value.status, caught.value.attempts, server.played) == (502, 4, 4)
    assert "after 4 attempt(s): HTTP 502: bad gateway" in str(caught.value)
    assert [r.getMessage().split(";")[1].split(" in ")[0] for r in caught_retries(caplog)] == [
        " retry 1 of 3",
        " retry 2 of 3",
        " retry 3 of 3",
    ]
    assert client.usage.calls == 0


def caught_retries(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "airlock.llm.client" and "retry" in r.getMessage()]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_a_4xx_other_than_429_fails_at_once_with_the_servers_message(serve: Serve, status: int) -> None:
    server = serve([Fail(status, "Invalid value for 'messages'"), "never played"])

    async with OpenAIClient(config(server)) as client:
        with pytest.raises(ModelError) as caught:
            await client.complete(HELLO)

    assert (caught.value.status, caught.value.attempts, server.played) == (status, 1, 1)
    assert f"HTTP {status}: Invalid value for 'messages'" in str(caught.value)


async def test_a_long_error_message_is_cut(serve: Serve) -> None:
    server = serve([Fail(400, "no " * 5000)])

    async with OpenAIClient(config(server)) as client:
        with pytest.raises(ModelError) as caught:
            await client.complete(HELLO)

    assert len(str(caught.value)) < MAX_ERROR_CHARS + 100
    assert str(caught.value).endswith("…")


def free_port() -> int:
    """A loopback port where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_refused_connection_is_retried_then_fails_without_a_status() -> None:
    settings = LlmConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", max_retries=2, backoff_base_s=0.001)

    async with OpenAIClient(settings) as client:
        with pytest.raises(ModelError) as caught:
            await client.complete(HELLO)

    assert (caught.value.status, caught.value.attempts) == (None, 3)
    assert "cannot reach" in str(caught.value)
    assert "ConnectError" in str(caught.value)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_a_call_that_outlives_its_timeout_fails(serve: Serve) -> None:
    server = serve([Delay(5, "too late")])

    async with OpenAIClient(config(server, timeout_s=0.2, max_retries=0)) as client:
        started = time.monotonic()
        with pytest.raises(ModelError) as caught:
            await client.complete(HELLO)

    assert time.monotonic() - started < 1.0
    assert (caught.value.status, caught.value.attempts) == (None, 1)
    assert "no reply within 0.2 s" in str(caught.value)


async def test_a_timed_out_call_is_retried(serve: Serve) -> None:
    server = serve([Delay(5, "too late"), Delay(0.01, "in time")])

    async with OpenAIClient(config(server, timeout_s=0.3)) as client:
        completion = await client.complete(HELLO)

    assert (completion.text, completion.attempts) == ("in time", 2)


# -- the API key ------------------------------------------------------------------------------------
async def test_the_api_key_is_sent_as_a_bearer_token(serve: Serve) -> None:
    server = serve(["ok"], api_key=KEY)

    async with OpenAIClient(config(server, api_key=KEY)) as client:
        assert (await client.complete(HELLO)).text == "ok"

    assert server.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"


async def test_a_missing_or_wrong_key_is_a_401_at_once(serve: Serve) -> None:
    server = serve(["never played"], api_key=KEY)

    for key in (None, "sk-wrong"):
        async with OpenAIClient(config(server, api_key=key)) as client:
            with pytest.raises(ModelError) as caught:
                await client.complete(HELLO)
        assert (caught.value.status, caught.value.attempts) == (401, 1)
        assert "Incorrect API key provided" in str(caught.value)
    assert server.played == 0


async def test_the_api_key_is_in_no_repr_exception_or_log_line(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"invalid key {KEY} for this project"  # servers do echo what they were sent
    server = serve([Fail(500, echo), Fail(400, echo)], api_key=KEY)
    settings = config(server, api_key=KEY)

    async with OpenAIClient(settings) as client:
        with pytest.raises(ModelError) as caught:
            await client.complete(HELLO)
        shown = [repr(client), str(client), repr(settings), str(settings), settings.model_dump_json()]

    assert caught.value.status == 400
    assert "invalid key [api key] for this project" in str(caught.value)
    assert caplog.records, "the retry was logged"
    for text in [*shown, str(caught.value), repr(caught.value), *(r.getMessage() for r in caplog.records)]:
        assert KEY not in text


def test_the_api_key_can_live_in_an_env_var_or_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MY_MODEL_KEY", KEY)
    (tmp_path / "key").write_text(f"  {KEY}\n")

    assert LlmConfig(api_key_env="MY_MODEL_KEY").resolve_api_key() == KEY
    assert LlmConfig(api_key_file=tmp_path / "key").resolve_api_key() == KEY
    assert LlmConfig(api_key=KEY, api_key_env="MY_MODEL_KEY").resolve_api_key() == KEY
    assert LlmConfig().resolve_api_key() is None
    with pytest.raises(ConfigError, match="'NOT_SET_ANYWHERE', which is not set"):
        LlmConfig(api_key_env="NOT_SET_ANYWHERE").resolve_api_key()
    with pytest.raises(ConfigError, match=r"cannot read llm\.api_key_file"):
        LlmConfig(api_key_file=tmp_path / "missing").resolve_api_key()


# -- protocols and per-call options -----------------------------------------------------------------
async def test_ollama_speaks_its_own_protocol(serve: Serve) -> None:
    server = serve(["Hello from llama."])

    async with OllamaClient(config(server, base_url=server.url, model="llama3.1:8b")) as client:
        completion = await client.complete(HELLO, max_tokens=100, temperature=0.0)

    request = server.chat_requests[0]
    assert (request.path, request.body["stream"], request.body["options"]) == (
        "/api/chat",
        False,
        {"num_predict": 100, "temperature": 0.0},
    )
    assert (completion.text, completion.model, completion.finish_reason) == ("Hello from llama.", "llama3.1:8b", "stop")
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (3 + 3, 5)
    assert completion.usage.unpriced_calls == 1


async def test_ollama_errors_are_read_from_its_error_field(serve: Serve) -> None:
    server = serve([Fail(404, "model 'nope' not found, try pulling it first")])

    async with OllamaClient(config(server, base_url=server.url)) as client:
        with pytest.raises(ModelError, match="HTTP 404: model 'nope' not found") as caught:
            await client.complete(HELLO)

    assert caught.value.attempts == 1


async def test_the_model_can_be_chosen_per_call(serve: Serve) -> None:
    server = serve(["a", "b"])

    async with OpenAIClient(config(server, model="gpt-4o")) as client:
        first = await client.complete(HELLO, model="gpt-5-mini")
        second = await client.complete(HELLO)

    assert [r.body["model"] for r in server.chat_requests] == ["gpt-5-mini", "gpt-4o"]
    assert (first.model, second.model) == ("gpt-5-mini", "gpt-4o")
    assert first.usage.cost_usd == pytest.approx(
        (first.usage.prompt_tokens * 0.25 + first.usage.completion_tokens * 2.0) / 1e6
    )


@pytest.mark.parametrize(
    ("model", "field"),
    [("gpt-5", "max_completion_tokens"), ("o3", "max_completion_tokens"), ("gpt-4o", "max_tokens")],
)
async def test_a_token_limit_is_sent_under_the_name_the_model_takes(serve: Serve, model: str, field: str) -> None:
    server = serve(["x" * 100])

    async with OpenAIClient(config(server, model=model)) as client:
        completion = await client.complete(HELLO, max_tokens=5, temperature=0.5)

    assert server.chat_requests[0].body[field] == 5
    assert server.chat_requests[0].body["temperature"] == 0.5
    assert (completion.text, completion.finish_reason) == ("x" * 20, "length")


async def test_concurrent_calls_each_get_their_own_reply(serve: Serve) -> None:
    def echo(messages: list[Message], model: str) -> Entry:
        return Delay(0.05, f"{model}: {messages[-1]['content'].upper()}")

    server = serve(echo)

    async with OpenAIClient(config(server)) as client:
        prompts = [f"prompt {i}" for i in range(8)]
        started = time.monotonic()
        replies = await asyncio.gather(*(client.complete([{"role": "user", "content": p}]) for p in prompts))

    assert [r.text for r in replies] == [f"scripted: PROMPT {i}" for i in range(8)]
    assert time.monotonic() - started < 0.05 * 8  # served side by side
    assert client.usage.calls == 8


async def test_a_200_that_is_not_a_chat_reply_is_an_error(serve: Serve) -> None:
    server = serve([Fail(200, {"object": "list", "data": []})])

    async with OpenAIClient(config(server)) as client:
        with pytest.raises(ModelError, match="not with a chat reply") as caught:
            await client.complete(HELLO)

    assert (caught.value.status, caught.value.attempts) == (200, 1)


async def test_a_closed_client_refuses_calls(serve: Serve) -> None:
    client = OpenAIClient(config(serve(["ok"])))
    await client.aclose()
    await client.aclose()

    with pytest.raises(ModelError, match="is closed"):
        await client.complete(HELLO)


# -- configuration ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "missing"),
    [(LlmConfig(), "base_url"), (LlmConfig(base_url="http://127.0.0.1:1/v1"), "model")],
)
def test_a_missing_endpoint_or_model_says_what_to_set(settings: LlmConfig, missing: str) -> None:
    with pytest.raises(ModelNotConfigured) as caught:
        make_client(settings)

    assert f"llm.{missing}" in str(caught.value)
    assert f"AIRLOCK_LLM__{missing.upper()}" in str(caught.value)
    assert isinstance(caught.value, ModelError)


async def test_the_client_comes_from_env_vars(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(["from env"], api_key=KEY)
    monkeypatch.setenv("AIRLOCK_LLM__PROVIDER", "ollama")
    monkeypatch.setenv("AIRLOCK_LLM__BASE_URL", server.url)
    monkeypatch.setenv("AIRLOCK_LLM__MODEL", "qwen2.5")
    monkeypatch.setenv("AIRLOCK_LLM__API_KEY", KEY)

    async with client_from_env() as client:
        assert isinstance(client, OllamaClient)
        assert (await client.complete(HELLO)).text == "from env"

    assert server.chat_requests[0].body["model"] == "qwen2.5"


def test_llm_settings_come_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[llm]\nbase_url = "https://api.example.com/v1"\nmodel = "house-model"\nsub_model = "house-mini"\n'
        'api_key_env = "HOUSE_KEY"\nmax_retries = 5\n\n[llm.prices."house-model"]\ninput_per_m = 1.0\n'
        "output_per_m = 2.0\n"
    )
    monkeypatch.setenv("AIRLOCK_CONFIG", str(path))
    monkeypatch.setenv("HOUSE_KEY", KEY)

    llm = load_settings().llm
    client = make_client(llm)

    assert isinstance(client, OpenAIClient)
    assert (client.model, client.sub_model, llm.max_retries) == ("house-model", "house-mini", 5)
    assert price_for("house-model", llm.prices) == ModelPrice(input_per_m=1.0, output_per_m=2.0)
    assert KEY not in path.read_text()
    assert KEY not in repr(llm)


@pytest.mark.parametrize("bad", ['provider = "anthropic"', 'base_url = "api.openai.com"', "api_token = 'x'"])
def test_bad_llm_settings_are_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[llm]\n{bad}\n")
    monkeypatch.setenv("AIRLOCK_CONFIG", str(path))

    with pytest.raises(ConfigError):
        load_settings()


# -- the scripted server itself ---------------------------------------------------------------------
async def test_the_scripted_server_says_when_its_script_is_spent(serve: Serve) -> None:
    server = serve(["only one"])

    async with OpenAIClient(config(server)) as client:
        await client.complete(HELLO)
        with pytest.raises(ModelError, match="no reply left: its script had 1") as caught:
            await client.complete(HELLO)

    assert (caught.value.status, server.remaining) == (410, 0)


async def test_the_scripted_server_runs_as_an_async_context_and_lists_its_model() -> None:
    async with (
        ScriptedModelServer(model="scripted-7", api_key=KEY) as server,
        httpx.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}) as http,
    ):
        listing = (await http.get(f"{server.base_url}/models")).json()
        missing = await http.get(f"{server.base_url}/nothing-here")

    assert [m["id"] for m in listing["data"]] == ["scripted-7"]
    assert missing.status_code == 404
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1/models"), ("GET", "/v1/nothing-here")]
    assert server.state == "stopped"


def test_a_stopped_scripted_server_cannot_start_again() -> None:
    server = ScriptedModelServer(["x"])
    with server:
        pass

    with pytest.raises(RuntimeError, match="make a new one"):
        server.start()
