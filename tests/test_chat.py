"""Agent chat against a real HTTP model server on loopback that plays scripted replies
(``ScriptedModelServer``), with real namespace sandboxes: the library's ``AgentChat``, the REST
endpoint of a live ``airlock serve``, the SDK, and ``airlock chat`` run as a subprocess."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from airlock import Runtime, SandboxState
from airlock.client import AsyncClient
from airlock.config import LlmConfig
from airlock.errors import ModelError, SandboxNotFound, SandboxStateError
from airlock.llm.base import Message
from airlock.llm.chat import AgentChat, ChatOptions
from airlock.llm.client import HttpChatModel, make_client
from airlock.llm.scripted import Delay, Entry, Fail, ScriptedModelServer
from conftest import LiveServer, _server_env
from server_api import error, http, wait_for_no_processes

FEEDBACK = "The code blocks of your reply ran"
#: What the scripted model answers to each user message.
CODE = {
    "compute": "Let me compute.\n```python\nx = 6 * 7\nprint(x)\n```",
    "again": "```python\nprint(x + 1)\n```",
    "wipe": "I will clean up.\n```bash\nrm -rf /\n```",
    "hello": "Hello! No code needed for that.",
}


def respond(messages: list[Message], model: str) -> Entry:
    """The scripted model: code for a user's message; for the outputs of its code, what they printed."""
    last = messages[-1]["content"]
    if last.startswith(FEEDBACK):
        if "refused by the policy" in last:
            return "Refused by the policy."
        return "Seen: " + last.partition("stdout:\n")[2].split("\n")[0]
    if last == "slow":
        return Delay(2.0, "Thought about it slowly.")
    return CODE[last]


def code_reply(code: str) -> str:
    return f"```python\n{code}\n```"


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedModelServer]:
    async with ScriptedModelServer() as server:
        yield server


@pytest.fixture
async def model(scripted: ScriptedModelServer) -> AsyncIterator[HttpChatModel]:
    async with make_client(LlmConfig(base_url=scripted.base_url, model="scripted", max_retries=0)) as client:
        yield client


@pytest.fixture
async def chat(ns_runtime: Runtime, model: HttpChatModel) -> AsyncIterator[AgentChat]:
    async with AgentChat(ns_runtime, model, agent_id="tester") as conversation:
        yield conversation


# -- the library ------------------------------------------------------------------------------------
async def test_the_models_next_reply_sees_what_its_code_printed(chat: AgentChat, scripted: ScriptedModelServer) -> None:
    scripted.add(code_reply("x = 6 * 7\nprint(x)"), "It is 42.")

    turn = await chat.send("What is 6 * 7?")

    assert turn.reply == "It is 42."
    assert turn.stop_reason == "answered"
    assert len(turn.steps) == 2
    outcome = turn.steps[0].blocks.blocks[0]
    assert outcome.result is not None
    assert outcome.result.stdout == "42\n"
    first, second = (request.body["messages"] for request in scripted.chat_requests)
    assert first[0]["role"] == "system"
    assert "sandbox" in first[0]["content"]
    assert "```python" in first[0]["content"]  # it is told how to write a block that runs
    assert first[1] == {"role": "user", "content": "What is 6 * 7?"}
    assert second[-2]["role"] == "assistant"
    assert second[-1]["role"] == "user"
    assert "exit code 0" in second[-1]["content"]
    assert "stdout:\n42" in second[-1]["content"]
    assert turn.usage.calls == 2
    assert turn.usage.total_tokens > 0
    assert chat.usage.calls == 2


async def test_state_persists_across_messages_in_the_agents_own_sandbox(
    chat: AgentChat, scripted: ScriptedModelServer
) -> None:
    scripted.add(code_reply("y = 5\nopen('notes.txt', 'w').write('kept')"), "Stored.")
    scripted.add(code_reply("print(y * 2, open('notes.txt').read())"), "10 kept")

    first = await chat.send("Remember 5.")
    second = await chat.send("Double it.")

    assert first.sandbox_id is not None
    assert first.sandbox_id == second.sandbox_id
    assert "stdout:\n10 kept" in scripted.chat_requests[3].body["messages"][-1]["content"]
    assert [m["role"] for m in chat.messages] == ["system", *["user", "assistant"] * 4]


async def test_max_steps_bounds_the_model_calls_for_one_message(chat: AgentChat, scripted: ScriptedModelServer) -> None:
    scripted.add(code_reply("print('one')"), code_reply("print('two')"), code_reply("print('three')"), "Done.")

    turn = await chat.send("Count.", max_steps=2)

    assert turn.stop_reason == "max_steps"
    assert len(turn.steps) == 2
    assert scripted.played == 2
    assert turn.reply == code_reply("print('two')")
    assert turn.steps[1].blocks.success  # the last reply's blocks ran all the same

    await chat.send("Go on.", max_steps=2)

    # the outputs of the last step reach the model with the next message, in one user turn
    shown = scripted.chat_requests[2].body["messages"][-1]
    assert shown["role"] == "user"
    assert "stdout:\ntwo" in shown["content"]
    assert shown["content"].endswith("Go on.")
    assert scripted.played == 4


async def test_the_default_number_of_steps_is_four(chat: AgentChat, scripted: ScriptedModelServer) -> None:
    scripted.add(*[code_reply("print(1)")] * 5)

    turn = await chat.send("Loop.")

    assert len(turn.steps) == 4
    assert scripted.played == 4


async def test_a_reply_without_code_is_the_answer_and_makes_no_sandbox(
    chat: AgentChat, scripted: ScriptedModelServer
) -> None:
    scripted.add("Hello there. ```python``` is how code is fenced.\n```text\nnot run\n```")

    turn = await chat.send("Hi")

    assert turn.stop_reason == "answered"
    assert len(turn.steps) == 1
    assert turn.sandbox_id is None
    assert chat.sandbox is None


async def test_a_failed_model_call_leaves_the_conversation_as_it_was(
    chat: AgentChat, scripted: ScriptedModelServer
) -> None:
    scripted.add(Fail(500, "the model is down"), "Back again.")

    with pytest.raises(ModelError, match="the model is down"):
        await chat.send("Hi")

    assert [m["role"] for m in chat.messages] == ["system"]
    turn = await chat.send("Hi")
    assert turn.reply == "Back again."


async def test_the_output_fed_back_is_cut_with_a_note(
    ns_runtime: Runtime, model: HttpChatModel, scripted: ScriptedModelServer
) -> None:
    scripted.add(code_reply("print('A' * 50_000)"), "Long.")

    async with AgentChat(ns_runtime, model, agent_id="long", options=ChatOptions(feedback_chars=1_000)) as chat:
        await chat.send("Print a lot.")

    shown = scripted.chat_requests[1].body["messages"][-1]["content"]
    assert len(shown) < 1_600
    assert "of 50,008 characters cut" in shown


async def test_closing_the_chat_destroys_its_sandbox(chat: AgentChat, scripted: ScriptedModelServer) -> None:
    scripted.add(code_reply("print(1)"), "Done.")
    await chat.send("Run something.")
    sandbox = chat.sandbox
    assert sandbox is not None, "the code ran in no sandbox of the chat's"
    assert sandbox.state is SandboxState.RUNNING

    await chat.close()

    assert sandbox.state is SandboxState.DESTROYED
    assert not await asyncio.to_thread(Path(sandbox.workspace_path).exists)
    with pytest.raises(SandboxStateError, match="closed"):
        await chat.send("Again?")


async def test_closing_the_chat_while_it_answers_leaves_no_sandbox(
    ns_runtime: Runtime, chat: AgentChat, scripted: ScriptedModelServer
) -> None:
    scripted.add(Delay(1.0, code_reply("print(1)")), "Done.")
    sending = asyncio.create_task(chat.send("Run something."))
    await asyncio.sleep(0.3)  # the model is still answering
    await chat.close()
    with pytest.raises(SandboxStateError, match="closed while it answered"):
        await sending
    assert ns_runtime.sandboxes() == []


async def test_the_chats_executions_are_in_the_history_under_its_agent(
    ns_runtime: Runtime, chat: AgentChat, scripted: ScriptedModelServer
) -> None:
    scripted.add(code_reply("print(1)"), "Done.")

    await chat.send("Run something.")

    assert ns_runtime.history is not None
    (record,) = await ns_runtime.history.query(agent_id="tester")
    assert record.code == "print(1)\n"


# -- REST ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(respond) as server:
        yield server


def with_model(server: LiveServer, model_server: ScriptedModelServer) -> LiveServer:
    server.env.update(
        {
            "AIRLOCK_LLM__BASE_URL": model_server.base_url,
            "AIRLOCK_LLM__MODEL": "scripted",
            "AIRLOCK_LLM__MAX_RETRIES": "0",
        }
    )
    return server


ROLES = """
[policy]
default_role = "agent"

[policy.roles.agent]

[policy.roles.reader]
languages = ["python"]
"""


@pytest.fixture(scope="module")
def chat_server(
    tmp_path_factory: pytest.TempPathFactory, sandbox_root: Path, model_server: ScriptedModelServer
) -> Iterator[LiveServer]:
    """One server with a model for the module's REST tests (each uses agent ids of its own)."""
    home = tmp_path_factory.mktemp("chat-server")
    (home / "no-config.toml").write_text(ROLES)  # the settings file AIRLOCK_CONFIG names
    server = with_model(LiveServer(home, sandbox_root, _server_env(home, sandbox_root)), model_server)
    server.start()
    # A second key of tenant alice, with a role of its own.
    server.keys["alice-reader"] = server.cli(
        "keys", "create", "--name", "alice-reader", "--tenant", "alice", "--role", "reader"
    ).stdout.strip()
    yield server
    server.stop()


@pytest.fixture
def alice(chat_server: LiveServer, namespace_backend: str) -> Iterator[httpx.Client]:
    with http(chat_server, "alice") as client:
        yield client


@pytest.fixture
def bob(chat_server: LiveServer, namespace_backend: str) -> Iterator[httpx.Client]:
    with http(chat_server, "bob") as client:
        yield client


def say(api: httpx.Client, agent_id: str, message: str, **body: object) -> dict[str, object]:
    reply = api.post(f"/v1/agents/{agent_id}/chat", json={"message": message, **body})
    assert reply.status_code == 200, reply.text
    turn: dict[str, object] = reply.json()
    return turn


def first_block(turn: dict[str, object]) -> dict[str, object]:
    steps = turn["steps"]
    assert isinstance(steps, list)
    block: dict[str, object] = steps[0]["blocks"]["blocks"][0]
    return block


def test_a_rest_chat_runs_the_models_code_and_answers(alice: httpx.Client) -> None:
    turn = say(alice, "calc", "compute")

    assert turn["reply"] == "Seen: 42"
    assert turn["stop_reason"] == "answered"
    block = first_block(turn)
    assert block["status"] == "ok"
    assert block["result"]["stdout"] == "42\n"  # type: ignore[index]
    assert block["verdict"]["decision"] == "allow"  # type: ignore[index]
    assert turn["usage"]["calls"] == 2  # type: ignore[index]
    assert say(alice, "calc", "again")["reply"] == "Seen: 43"  # the sandbox kept x
    executions = alice.get("/v1/executions", params={"agent_id": "calc"}).json()["executions"]
    assert [e["code"] for e in executions] == ["print(x + 1)\n", "x = 6 * 7\nprint(x)\n"]
    assert {e["sandbox_id"] for e in executions} == {turn["sandbox_id"]}
    assert turn["sandbox_id"] not in {s["id"] for s in alice.get("/v1/sandboxes").json()["sandboxes"]}
    assert alice.delete("/v1/agents/calc/chat").status_code == 204


def test_conversations_and_their_history_belong_to_the_tenant(alice: httpx.Client, bob: httpx.Client) -> None:
    say(alice, "shared", "compute")

    bobs = first_block(say(bob, "shared", "again"))  # bob's "shared" is another conversation

    assert bobs["status"] == "failed"
    assert bobs["result"]["error"]["name"] == "NameError"  # type: ignore[index]
    assert say(alice, "shared", "again")["reply"] == "Seen: 43"
    assert [e["code"] for e in bob.get("/v1/executions", params={"agent_id": "shared"}).json()["executions"]] == [
        "print(x + 1)\n"
    ]
    assert bob.delete("/v1/agents/shared/chat").status_code == 204
    assert error(bob.delete("/v1/agents/shared/chat"), 404) == "not_found"
    assert alice.delete("/v1/agents/shared/chat").status_code == 204


def test_a_key_of_another_role_cannot_borrow_a_conversation(alice: httpx.Client, chat_server: LiveServer) -> None:
    """The conversation's code is judged for the role of the key that began it; a key of the same
    tenant with another role is refused, not let in under that role."""
    say(alice, "shared-agent", "compute")
    with http(chat_server, "alice-reader") as reader:
        reply = reader.post("/v1/agents/shared-agent/chat", json={"message": "again"})
        assert error(reply, 409) == "chat_role"
        assert "talks under the default role; this key has role 'reader'" in reply.json()["error"]["message"]


def test_a_denied_block_comes_back_with_its_verdict(alice: httpx.Client) -> None:
    turn = say(alice, "cleaner", "wipe")

    block = first_block(turn)
    assert block["status"] == "denied"
    assert block["result"] is None
    assert block["verdict"]["decision"] == "deny"  # type: ignore[index]
    assert turn["reply"] == "Refused by the policy."  # the model was told
    alice.delete("/v1/agents/cleaner/chat")


def test_ending_a_chat_destroys_its_sandbox(alice: httpx.Client, sandbox_root: Path) -> None:
    sandbox_id = str(say(alice, "ender", "compute")["sandbox_id"])
    assert (sandbox_root / sandbox_id).is_dir()

    assert alice.delete("/v1/agents/ender/chat").status_code == 204

    assert wait_for_no_processes({sandbox_id}) == []
    assert not (sandbox_root / sandbox_id).exists()
    assert error(alice.delete("/v1/agents/ender/chat"), 404) == "not_found"


def test_a_chat_answers_one_message_at_a_time(alice: httpx.Client) -> None:
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(alice.post, "/v1/agents/busy/chat", json={"message": "slow"})
        time.sleep(0.5)
        assert error(alice.post("/v1/agents/busy/chat", json={"message": "hello"}), 409) == "chat_busy"
        assert slow.result().status_code == 200
    assert say(alice, "busy", "hello")["reply"] == CODE["hello"]
    alice.delete("/v1/agents/busy/chat")


def test_bad_chat_requests_are_refused_with_the_envelope(alice: httpx.Client) -> None:
    assert error(alice.post("/v1/agents/a/chat", json={"message": ""}), 422) == "validation_error"
    assert error(alice.post("/v1/agents/a/chat", json={"message": "hi", "max_steps": 0}), 422) == "validation_error"
    assert error(alice.post("/v1/agents/a%20b/chat", json={"message": "hi"}), 422) == "validation_error"
    assert error(alice.post("/v1/agents/a/chat", json={"message": "hi", "extra": 1}), 422) == "validation_error"
    assert error(alice.post("/v1/agents/a/chat", json={"message": " "}), 422) == "invalid_request"


async def test_the_sdk_chats_and_ends_the_chat(chat_server: LiveServer, namespace_backend: str) -> None:
    async with AsyncClient(chat_server.url, chat_server.key("carol")) as client:
        turn = await client.chat("sdk", "compute")
        assert turn.reply == "Seen: 42"
        assert turn.steps[0].blocks.blocks[0].result is not None
        assert turn.steps[0].blocks.blocks[0].result.stdout == "42\n"
        await client.end_chat("sdk")
        with pytest.raises(SandboxNotFound):
            await client.end_chat("sdk")


def test_the_server_destroys_the_chat_sandboxes_when_it_stops(
    server_factory: Callable[[], LiveServer],
    model_server: ScriptedModelServer,
    namespace_backend: str,
    sandbox_root: Path,
) -> None:
    server = with_model(server_factory(), model_server)
    server.start()
    with http(server) as api:
        sandbox_id = str(say(api, "worker", "compute")["sandbox_id"])
    assert (sandbox_root / sandbox_id).is_dir()

    assert server.stop() == 0

    assert wait_for_no_processes({sandbox_id}) == []
    assert not (sandbox_root / sandbox_id).exists()


def test_without_a_model_a_chat_is_refused_saying_what_to_set(live_server: LiveServer) -> None:
    with http(live_server) as api:
        reply = api.post("/v1/agents/a/chat", json={"message": "hi"})

    assert error(reply, 409) == "model_not_configured"
    assert "AIRLOCK_LLM__BASE_URL" in reply.json()["error"]["message"]


# -- the CLI ---------------------------------------------------------------------------------------
@pytest.fixture
def cli_env(tmp_path: Path, sandbox_root: Path, model_server: ScriptedModelServer) -> dict[str, str]:
    env = _server_env(tmp_path / "home", sandbox_root)
    env.update({"AIRLOCK_LLM__BASE_URL": model_server.base_url, "AIRLOCK_LLM__MODEL": "scripted"})
    return env


def airlock(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "airlock", *args]
    return subprocess.run(command, env=env, input=stdin, capture_output=True, text=True, timeout=120)


def test_airlock_chat_answers_one_message(cli_env: dict[str, str], namespace_backend: str) -> None:
    run = airlock("chat", "-m", "compute", "--json", "--agent-id", "cli-test", env=cli_env)

    assert run.returncode == 0, run.stderr
    turn = json.loads(run.stdout)
    assert turn["reply"] == "Seen: 42"
    assert turn["agent_id"] == "cli-test"
    assert "2 step(s)" in run.stderr
    assert wait_for_no_processes({turn["sandbox_id"]}) == []  # the sandbox went with the chat


def test_airlock_chat_reads_a_message_per_line_in_one_sandbox(cli_env: dict[str, str], namespace_backend: str) -> None:
    run = airlock("chat", env=cli_env, stdin="compute\n\nagain\n")

    assert run.returncode == 0, run.stderr
    assert "Let me compute." in run.stdout
    assert "stdout:\n42" in run.stdout
    assert "Seen: 42" in run.stdout
    assert "Seen: 43" in run.stdout  # the second message's code saw the first one's x


def test_airlock_chat_without_a_model_says_what_to_set(tmp_path: Path, sandbox_root: Path) -> None:
    run = airlock("chat", "-m", "hi", env=_server_env(tmp_path / "home", sandbox_root))

    assert run.returncode == 2
    assert "AIRLOCK_LLM__BASE_URL" in run.stderr
