"""The model bridge: sandboxed code calls the model back through the host, with no network inside.

Everything is real: bubblewrap sandboxes (and process ones) whose code imports ``airlock_llm`` and
calls a handler on the host through a Unix socket in the sandbox's services folder. The refusals
are also tried with raw frames from the host, where the code's client would not send them.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airlock import Runtime, Sandbox
from airlock.errors import SandboxStateError
from airlock.rlm import Bridge, BridgeCall, BridgeLimits, BridgeState

HANG_GUARD_S = 30


@dataclass
class Model:
    """A handler that answers ``op:prompt:model``, after ``delay`` seconds, failing on ``fail``;
    it notes every call and how many ran at once."""

    delay: float = 0.0
    fail: str = "boom"
    calls: list[BridgeCall] = field(default_factory=list)
    running: int = 0
    peak: int = 0
    cancelled: int = 0
    cancel_seen: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, call: BridgeCall) -> str:
        self.calls.append(call)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(self.delay)
            if call.prompt == self.fail:
                raise ValueError(f"cannot answer {call.prompt!r}")
            return f"{call.op}:{call.prompt}:{call.model}"
        except asyncio.CancelledError:
            self.cancelled += 1
            self.cancel_seen.set()
            raise
        finally:
            self.running -= 1


@pytest.fixture
async def ns_sandboxes(ns_runtime: Runtime) -> AsyncIterator[Callable[[], Awaitable[Sandbox]]]:
    """Started namespace sandboxes (no network), all destroyed at teardown."""
    made: list[Sandbox] = []

    async def factory() -> Sandbox:
        made.append(await ns_runtime.create_sandbox(language="python"))
        return made[-1]

    yield factory
    for sandbox in made:
        await sandbox.destroy()


@pytest.fixture
async def ns_sandbox(ns_sandboxes: Callable[[], Awaitable[Sandbox]]) -> Sandbox:
    return await ns_sandboxes()


async def run(sandbox: Sandbox, code: str, bridge: Bridge | None = None, **kwargs: Any) -> str:
    """Run ``code`` (with ``bridge``'s env, unless ``env`` is given) and return its stdout."""
    kwargs.setdefault("env", bridge.env if bridge else None)
    result = await sandbox.exec(code, **kwargs)
    assert result.exit_code == 0, result.stderr
    return result.stdout


async def raw(path: Path, frame: bytes) -> tuple[dict[str, Any], bytes]:
    """Send ``frame`` as it is; the reply, and what the connection gives after it (b"": closed)."""
    reader, writer = await asyncio.open_unix_connection(str(path))
    try:
        writer.write(frame)
        await writer.drain()
        async with asyncio.timeout(HANG_GUARD_S):
            length = struct.unpack(">I", await reader.readexactly(4))[0]
            reply = json.loads(await reader.readexactly(length))
            try:
                rest = await reader.read()
            except ConnectionResetError:  # closed with the request unread: the reply came first
                rest = b""
        return reply, rest
    finally:
        writer.close()


def frame(message: object) -> bytes:
    data = json.dumps(message).encode()
    return struct.pack(">I", len(data)) + data


# -- calls ------------------------------------------------------------------------------------------
async def test_sandboxed_code_gets_the_handlers_answer(sandbox: Sandbox) -> None:
    model = Model()
    async with Bridge(sandbox, model) as bridge:
        code = (
            "import airlock_llm\n"
            "print(airlock_llm.llm_query('hello'))\n"
            "print(airlock_llm.llm_query('hi', model='small'))\n"
            "print(airlock_llm.rlm_query('deeper'))\n"
        )
        out = await run(sandbox, code, bridge)

    assert out.splitlines() == ["llm_query:hello:None", "llm_query:hi:small", "rlm_query:deeper:None"]
    assert model.calls == [
        BridgeCall("llm_query", "hello", None, 0),
        BridgeCall("llm_query", "hi", "small", 0),
        BridgeCall("rlm_query", "deeper", None, 0),
    ]
    assert (bridge.stats.calls, bridge.stats.requests, bridge.stats.errors) == (3, 3, 0)
    assert len(bridge.stats.overhead_s) == 3


async def test_the_token_reaches_the_repl_through_the_exec_env_not_the_code(ns_sandbox: Sandbox) -> None:
    async with Bridge(ns_sandbox, Model()) as bridge:
        code = "import airlock_llm, os\nprint(airlock_llm.llm_query('x'), os.environ['AIRLOCK_LLM_SOCKET'])"
        first = await run(ns_sandbox, code, bridge, context="rlm")
        again = await run(ns_sandbox, "print(airlock_llm.llm_query('y'))", bridge, context="rlm")
        inside = bridge.socket_path

    assert bridge.token not in code
    assert first.split() == ["llm_query:x:None", inside]
    assert inside.startswith("/run/airlock/services/llm-")
    assert again.strip() == "llm_query:y:None"


async def test_batched_keeps_order_and_respects_max_concurrent(ns_sandbox: Sandbox) -> None:
    model = Model(delay=0.05)
    async with Bridge(ns_sandbox, model, max_concurrent=3) as bridge:
        # Two threads, each with a batch: the cap holds over the whole bridge, not per connection.
        code = (
            "import airlock_llm, json, threading\n"
            "out = {}\n"
            "def ask(name):\n"
            "    out[name] = airlock_llm.llm_query_batched([f'{name}{i}' for i in range(8)])\n"
            "threads = [threading.Thread(target=ask, args=(n,)) for n in 'ab']\n"
            "[t.start() for t in threads]; [t.join() for t in threads]\n"
            "print(json.dumps(out))\n"
        )
        out = json.loads(await run(ns_sandbox, code, bridge))

    for name in "ab":
        assert out[name] == [f"llm_query_batched:{name}{i}:None" for i in range(8)]
    assert model.peak == 3
    assert sorted(call.index for call in model.calls if call.prompt.startswith("a")) == list(range(8))
    assert bridge.stats.calls == 16


async def test_a_batch_over_the_limit_is_refused_whole(ns_sandbox: Sandbox) -> None:
    """The host holds a batch's answers until the last: a batch has a cap, so code cannot make the
    host hold millions of tasks or answers."""
    model = Model()
    async with Bridge(ns_sandbox, model, limits=BridgeLimits(max_batch=10)) as bridge:
        code = (
            "import airlock_llm, json\n"
            "print(json.dumps([airlock_llm.llm_query_batched(['x'] * 11), airlock_llm.llm_query_batched(['y'] * 10)]))"
        )
        refused, answered = json.loads(await run(ns_sandbox, code, bridge))
    assert len(refused) == 11
    assert all("the limit is 10" in answer for answer in refused)
    assert answered == ["llm_query_batched:y:None"] * 10
    assert (bridge.stats.calls, bridge.stats.refused) == (10, 1)


async def test_handler_errors_and_bad_arguments_come_back_as_strings(ns_sandbox: Sandbox) -> None:
    model = Model(fail="boom")
    async with Bridge(ns_sandbox, model) as bridge:
        code = (
            "import airlock_llm, json\n"
            "print(json.dumps([\n"
            "    airlock_llm.llm_query('boom'),\n"
            "    airlock_llm.llm_query_batched(['a', 'boom', 7, 'b']),\n"
            "    airlock_llm.llm_query(42),\n"
            "    airlock_llm.llm_query('a', model=3),\n"
            "    airlock_llm.llm_query_batched('not a list'),\n"
            "    airlock_llm.llm_query_batched([]),\n"
            "]))\n"
        )
        single, batch, bad_prompt, bad_model, bad_batch, empty = json.loads(await run(ns_sandbox, code, bridge))

    assert single == "Error: ValueError: cannot answer 'boom'"
    assert batch == [
        "llm_query_batched:a:None",
        "Error: ValueError: cannot answer 'boom'",
        "Error: TypeError: each prompt must be str, not int",
        "llm_query_batched:b:None",
    ]
    assert bad_prompt == "Error: TypeError: prompt must be str, not int"
    assert bad_model == "Error: TypeError: model must be str or None, not int"
    assert bad_batch == ["Error: TypeError: prompts must be a list of str, not str"]
    assert empty == []
    assert bridge.stats.errors == 2


async def test_without_a_bridge_the_client_says_so(ns_sandbox: Sandbox) -> None:
    out = await run(ns_sandbox, "import airlock_llm; print(airlock_llm.llm_query('x'))")

    assert out.startswith("Error: ModelBridgeError: there is no model bridge here")


# -- refusals ---------------------------------------------------------------------------------------
async def test_a_wrong_token_is_refused_and_the_handler_never_called(ns_sandbox: Sandbox) -> None:
    model = Model()
    async with Bridge(ns_sandbox, model) as bridge:
        code = (
            "import airlock_llm, os\n"
            "airlock_llm.configure(os.environ['AIRLOCK_LLM_SOCKET'], 'guessed')\n"
            "print(airlock_llm.llm_query('x'))\n"
            "print(airlock_llm.llm_query_batched(['a', 'b']))\n"
        )
        out = await run(ns_sandbox, code, bridge)

    assert out.splitlines() == [
        "Error: ModelBridgeError: wrong token",
        "['Error: ModelBridgeError: wrong token', 'Error: ModelBridgeError: wrong token']",
    ]
    assert model.calls == []
    assert bridge.stats.refused == 2


def _with_token(message: dict[str, Any]) -> Callable[[str], bytes]:
    return lambda token: frame({"token": token, **message})


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda token: b"\x00\x00\x00\x05hello", "not UTF-8 JSON"),
        (lambda token: frame(["a list"]), "not a JSON object"),
        (lambda token: frame({"token": "nope", "op": "llm_query", "prompt": "x"}), "wrong token"),
        (lambda token: frame({"op": "llm_query", "prompt": "x"}), "wrong token"),
        (_with_token({"op": "shell", "prompt": "x"}), "unknown op 'shell'"),
        (_with_token({"op": "llm_query", "prompt": 1}), "prompt must be a string"),
        (_with_token({"op": "llm_query_batched", "prompts": ["a", 2]}), "prompts must be a list"),
        (_with_token({"op": "llm_query", "prompt": "x", "model": 5}), "model must be a string"),
        (lambda token: struct.pack(">I", 1 << 30), "the request is 1073741824 bytes; the limit is 16777216"),
    ],
    ids=["not-json", "not-object", "wrong-token", "no-token", "unknown-op", "prompt", "prompts", "model", "huge"],
)
async def test_a_bad_frame_gets_an_error_and_the_connection_closed(
    ns_sandbox: Sandbox, make: Callable[[str], bytes], error: str
) -> None:
    model = Model()
    async with Bridge(ns_sandbox, model) as bridge:
        assert bridge.path is not None
        reply, rest = await raw(bridge.path, make(bridge.token))

    assert reply["ok"] is False
    assert error in reply["error"]
    assert rest == b""
    assert model.calls == []
    assert bridge.stats.refused == 1


async def test_an_oversized_request_is_refused_through_the_client(ns_sandbox: Sandbox) -> None:
    model = Model()
    async with Bridge(ns_sandbox, model, limits=BridgeLimits(max_frame_bytes=1024)) as bridge:
        out = await run(ns_sandbox, "import airlock_llm; print(airlock_llm.llm_query('x' * 2000))", bridge)

    assert out.startswith("Error: ModelBridgeError: the request is ")
    assert out.strip().endswith("the limit is 1024")
    assert model.calls == []


async def test_connections_past_the_limit_are_refused(ns_sandbox: Sandbox) -> None:
    async with Bridge(ns_sandbox, Model(), limits=BridgeLimits(max_connections=1)) as bridge:
        assert bridge.path is not None
        _, held = await asyncio.open_unix_connection(str(bridge.path))
        try:
            reply, rest = await raw(bridge.path, frame({"token": bridge.token, "op": "llm_query", "prompt": "x"}))
        finally:
            held.close()

    assert reply == {"ok": False, "error": "more than 1 connections"}
    assert rest == b""


async def test_a_client_that_goes_away_cancels_its_calls(ns_sandbox: Sandbox) -> None:
    model = Model(delay=3600)
    async with Bridge(ns_sandbox, model) as bridge:
        code = "import airlock_llm; airlock_llm.llm_query_batched(['a', 'b'])"
        result = await ns_sandbox.exec(code, env=bridge.env, timeout_ms=1000)
        async with asyncio.timeout(HANG_GUARD_S):
            while model.cancelled < 2:
                await model.cancel_seen.wait()
                model.cancel_seen.clear()

    assert result.timed_out
    assert model.running == 0


# -- where the socket is, and who can reach it ------------------------------------------------------
async def test_the_sandbox_has_no_network_yet_the_call_works(ns_sandbox: Sandbox) -> None:
    code = (
        "import airlock_llm, socket\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 80), timeout=3)\n"
        "    print('network')\n"
        "except OSError as exc:\n"
        "    print('no network:', type(exc).__name__)\n"
        "print(airlock_llm.llm_query('still here'))\n"
    )
    async with Bridge(ns_sandbox, Model()) as bridge:
        out = await run(ns_sandbox, code, bridge)

    first, second = out.splitlines()
    assert first.startswith("no network:")
    assert second == "llm_query:still here:None"


async def test_the_services_folder_is_read_only_inside(ns_sandbox: Sandbox) -> None:
    code = (
        "import os, socket\n"
        "services = os.environ['AIRLOCK_SERVICES']\n"
        "print(services)\n"
        "attempts = [\n"
        "    lambda: open(services + '/planted', 'w'),\n"
        "    lambda: os.mkdir(services + '/dir'),\n"
        "    lambda: socket.socket(socket.AF_UNIX).bind(services + '/fake.sock'),\n"
        "    lambda: os.chmod(services, 0o777),\n"
        "]\n"
        "for attempt in attempts:\n"
        "    try:\n"
        "        attempt()\n"
        "        print('written')\n"
        "    except OSError as exc:\n"
        "        print('refused', exc.errno)\n"
    )
    async with Bridge(ns_sandbox, Model()) as bridge:
        out = (await run(ns_sandbox, code, bridge)).splitlines()
        names = os.listdir(ns_sandbox.services_dir)

    assert out[0] == "/run/airlock/services" == ns_sandbox.services_path
    assert len(out) == 5
    assert all(line.startswith("refused") for line in out[1:]), out
    assert names == [bridge.path.name if bridge.path else ""]


async def test_the_socket_is_gone_after_aclose_and_no_other_session_is_seen(
    ns_sandboxes: Callable[[], Awaitable[Sandbox]],
) -> None:
    first, other = await ns_sandboxes(), await ns_sandboxes()
    listing = "import os, json; print(json.dumps(sorted(os.listdir(os.environ['AIRLOCK_SERVICES']))))"
    async with Bridge(first, Model()) as old, Bridge(other, Model()) as elsewhere:
        old_env = old.env
        assert old.path is not None
        assert elsewhere.path is not None
        mode = old.path.stat().st_mode & 0o777
        assert json.loads(await run(first, listing)) == [old.path.name]
        assert json.loads(await run(other, listing)) == [elsewhere.path.name]
        # The other sandbox's socket, even with its token, is not in this one.
        stranger = await run(first, "import airlock_llm; print(airlock_llm.llm_query('x'))", env=elsewhere.env)
    assert stranger.startswith("Error: FileNotFoundError")
    assert mode == 0o600
    assert os.listdir(first.services_dir) == []
    with pytest.raises(SandboxStateError):
        old.env  # noqa: B018 - a closed bridge has none

    async with Bridge(first, Model()) as new:
        assert json.loads(await run(first, listing)) == [new.path.name if new.path else ""]
        gone = await run(first, "import airlock_llm; print(airlock_llm.llm_query('x'))", env=old_env)
        assert gone.startswith("Error: FileNotFoundError")
        assert new.token != old_env["AIRLOCK_LLM_TOKEN"]
    assert old.state is new.state is BridgeState.CLOSED


async def test_a_reset_sandbox_keeps_no_socket(ns_sandbox: Sandbox) -> None:
    bridge = await Bridge(ns_sandbox, Model()).start()  # never closed by its user: the reset clears it
    try:
        assert os.listdir(ns_sandbox.services_dir) != []
        assert await ns_sandbox.reset()
        assert os.listdir(ns_sandbox.services_dir) == []
        assert (
            json.loads(await run(ns_sandbox, "import os, json; print(json.dumps(os.listdir('/run/airlock/services')))"))
            == []
        )
    finally:
        await bridge.aclose()


async def test_the_bridge_outlives_a_snapshot_and_restore(ns_sandbox: Sandbox) -> None:
    async with Bridge(ns_sandbox, Model()) as bridge:
        assert bridge.path is not None
        await run(ns_sandbox, "open('state.txt', 'w').write('before')")
        snapshot = await ns_sandbox.snapshot("before")
        await run(ns_sandbox, "open('state.txt', 'w').write('after')")
        await ns_sandbox.restore(snapshot.id)  # stops the sandbox and starts it again
        out = await run(
            ns_sandbox, "import airlock_llm; print(open('state.txt').read(), airlock_llm.llm_query('x'))", bridge
        )

        assert out.split() == ["before", "llm_query:x:None"]
        assert os.listdir(ns_sandbox.services_dir) == [bridge.path.name]
        assert "services" not in ns_sandbox._env.snapshot_trees()


async def test_the_process_backend_sees_the_host_folder(settings: Any) -> None:
    async with (
        Runtime(settings.model_copy(update={"backend": "process"})) as runtime,
        runtime.sandbox(language="python") as sandbox,
        Bridge(sandbox, Model()) as bridge,
    ):
        out = await run(
            sandbox, "import airlock_llm, os; print(os.environ['AIRLOCK_SERVICES'], airlock_llm.llm_query('p'))", bridge
        )

    assert out.split() == [str(sandbox.services_dir), "llm_query:p:None"]


async def test_a_closed_bridge_cannot_start_again(ns_sandbox: Sandbox) -> None:
    bridge = Bridge(ns_sandbox, Model())
    await bridge.start()
    assert await bridge.start() is bridge  # a second start does nothing
    await bridge.aclose()
    await bridge.aclose()

    with pytest.raises(SandboxStateError):
        await bridge.start()
