"""The Python SDK against a real ``airlock serve`` on loopback: ``AsyncClient``, ``Client`` and
``RemoteSandbox``, which must be a drop-in for a local ``Sandbox``."""

from __future__ import annotations

import inspect
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from airlock import (
    AsyncClient,
    AuthenticationError,
    BackendUnavailable,
    Client,
    CodeTooLarge,
    EmptyCode,
    ExecutionResult,
    FileInfo,
    InvalidRequest,
    OutputChunk,
    PathOutsideWorkspace,
    RateLimited,
    RemoteSandbox,
    Runtime,
    Sandbox,
    SandboxFileNotFound,
    SandboxNotFound,
    SandboxState,
    SandboxStateError,
    ServerUnavailable,
    UnknownLanguage,
)
from conftest import LiveServer

#: ``Sandbox`` members that have no meaning, or no endpoint, over HTTP.
#: reset: what a pool does to its own; boot_ms: timings taken on the host.
LOCAL_ONLY = {"ping", "make_dir", "workspace_path", "reset", "boot_ms"}
LOCAL_ONLY |= {"forget_snapshots"}  # what a pool does to its own
LOCAL_ONLY |= {"egress"}  # the host-side proxy object; over REST the policy's verdict says what it allowed
LOCAL_ONLY |= {"services_dir", "services_path", "owner"}  # host-side: a model bridge's socket folder and its uid


@pytest.fixture
def api_key(live_server: LiveServer, namespace_backend: str) -> str:
    return live_server.key("alice")


@pytest.fixture
async def client(live_server: LiveServer, api_key: str) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(live_server.url, api_key) as client:
        yield client


def free_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


async def answer(sandbox: Sandbox | RemoteSandbox) -> str:
    """Code written once for the library's handle."""
    await sandbox.exec("x = 41")
    return (await sandbox.exec("print(x + 1)")).stdout


# -- local and remote are one line apart ------------------------------------------------------------
async def test_the_same_code_runs_on_a_local_and_a_remote_sandbox(ns_runtime: Runtime, client: AsyncClient) -> None:
    async with ns_runtime.sandbox(language="python") as local, client.sandbox(language="python") as remote:
        assert await answer(local) == await answer(remote) == "42\n"


@pytest.mark.parametrize(
    "name", sorted(n for n in dir(Sandbox) if not n.startswith("_") and n not in LOCAL_ONLY | {"capabilities", "alive"})
)
def test_remote_sandbox_has_the_methods_and_signatures_of_sandbox(name: str) -> None:
    local, remote = getattr(Sandbox, name), getattr(RemoteSandbox, name)
    local_params = inspect.signature(local).parameters
    remote_params = inspect.signature(remote).parameters

    assert inspect.iscoroutinefunction(remote) == inspect.iscoroutinefunction(local)
    assert inspect.isasyncgenfunction(remote) == inspect.isasyncgenfunction(local)
    for param in local_params.values():  # the remote may take more (agent_id), never fewer or different
        assert param.name in remote_params, f"RemoteSandbox.{name} lacks {param.name}"
        assert remote_params[param.name].kind == param.kind
        assert remote_params[param.name].default == param.default


# -- sandboxes --------------------------------------------------------------------------------------
async def test_lifecycle_create_list_get_stop_start_destroy(client: AsyncClient) -> None:
    sandbox = await client.create_sandbox(language="python", limits={"memory_mb": 256}, env={"GREETING": "hi"})
    try:
        assert sandbox.state is SandboxState.RUNNING
        assert sandbox.alive
        assert (sandbox.language, sandbox.backend, sandbox.limits["memory_mb"]) == ("python", "namespace", 256)
        assert [sb.id for sb in await client.list_sandboxes()] == [sandbox.id]
        assert (await client.get_sandbox(sandbox.id)).status == "running"
        assert (await sandbox.exec("import os; print(os.environ['GREETING'])")).stdout == "hi\n"

        await sandbox.stop()
        assert sandbox.state is SandboxState.STOPPED
        with pytest.raises(SandboxStateError, match="start it first"):
            await sandbox.exec("print(1)")

        assert await sandbox.start() is sandbox
        assert (await sandbox.exec("print(1)")).stdout == "1\n"
    finally:
        await sandbox.destroy()

    assert sandbox.state is SandboxState.DESTROYED
    with pytest.raises(SandboxNotFound) as caught:
        await client.get_sandbox(sandbox.id)
    assert isinstance(caught.value, LookupError)
    await sandbox.destroy()  # a no-op
    assert await client.list_sandboxes() == []


async def test_sandbox_context_deletes_on_exit_also_when_leaving_by_exception(client: AsyncClient) -> None:
    with pytest.raises(RuntimeError, match="leaving"):
        async with client.sandbox() as sandbox:
            raise RuntimeError("leaving")

    assert await client.list_sandboxes() == []
    with pytest.raises(SandboxNotFound):
        await sandbox.refresh()


# -- execution --------------------------------------------------------------------------------------
async def test_stream_yields_chunks_as_they_come_then_the_result(client: AsyncClient) -> None:
    code = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.3)"
    items: list[OutputChunk | ExecutionResult] = []
    arrived: list[float] = []

    async with client.sandbox() as sandbox:
        async for item in sandbox.stream(code):
            items.append(item)
            arrived.append(time.monotonic())

    *chunks, result = items
    assert len(chunks) >= 3
    assert all(isinstance(chunk, OutputChunk) for chunk in chunks)
    assert "".join(chunk.data for chunk in chunks if isinstance(chunk, OutputChunk)) == "0\n1\n2\n"
    assert isinstance(result, ExecutionResult)
    assert result.stdout == "0\n1\n2\n"
    assert result.metadata["execution_id"]
    assert arrived[-1] - arrived[0] > 0.4, "the first chunk came only with the result"


async def test_on_output_streams_and_the_result_is_returned(client: AsyncClient) -> None:
    seen: list[OutputChunk] = []

    async with client.sandbox() as sandbox:
        result = await sandbox.exec("import sys; print('out'); print('err', file=sys.stderr)", on_output=seen.append)

    assert result.stdout == "out\n"
    assert result.stderr == "err\n"
    assert {(chunk.stream, chunk.data) for chunk in seen} == {("stdout", "out\n"), ("stderr", "err\n")}


async def test_stream_raises_the_library_exceptions(client: AsyncClient) -> None:
    async with client.sandbox() as sandbox:
        with pytest.raises(UnknownLanguage):
            async for _ in sandbox.stream("x", "cobol"):
                pass
        await sandbox.stop()
        with pytest.raises(SandboxStateError):
            await sandbox.exec("print(1)", on_output=lambda chunk: None)


async def test_exec_options_reach_the_code(client: AsyncClient) -> None:
    code = "import os, sys; print(os.getcwd(), os.environ['K'], sys.stdin.read())"

    async with client.sandbox() as sandbox:
        await sandbox.write_file("sub/keep.txt", "")
        result = await sandbox.exec(code, env={"K": "V"}, cwd="sub", stdin=b"fed")
        timed_out = await sandbox.exec("import time; time.sleep(30)", timeout_ms=300)
        fresh = await sandbox.exec("print('K' in dir())", context=None)
        capped = await sandbox.exec("print('x' * 10_000)", max_output_bytes=100)

    assert result.stdout == "/workspace/sub V fed\n"
    assert timed_out.timed_out
    assert fresh.stdout == "False\n"
    assert capped.output_truncated


async def test_run_command_reset_context_and_other_languages(client: AsyncClient) -> None:
    async with client.sandbox(language="python") as sandbox:
        command = await sandbox.run_command(["echo", "no", "shell"])
        await sandbox.exec("x = 1")
        reset = await sandbox.reset_context()
        after = await sandbox.exec("print(x)")
        bash = await sandbox.exec("echo $((6 * 7))", "bash")

    assert command.stdout == "no shell\n"
    assert reset is True
    assert after.error is not None
    assert after.error.name == "NameError"
    assert bash.stdout == "42\n"


async def test_one_shot_run_and_the_history(client: AsyncClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    once = await client.run("print(6 * 7)", agent_id="agent-a")
    async with client.sandbox() as sandbox:
        failed = await sandbox.exec("import sys; sys.exit(3)", agent_id="agent-b")

    assert once.stdout == "42\n"
    assert failed.exit_code == 3
    mine = await client.executions(agent_id="agent-a")
    assert [record.id for record in mine] == [once.metadata["execution_id"]]
    assert mine[0].sandbox_id is None
    assert [r.id for r in await client.executions(sandbox_id=sandbox.id)] == [failed.metadata["execution_id"]]
    assert [r.agent_id for r in await client.executions(status="error")] == ["agent-b"]
    assert len(await client.executions(limit=1)) == 1
    assert len(await client.executions(since=before)) == 2
    assert await client.executions(until=before) == []


# -- files ------------------------------------------------------------------------------------------
async def test_files_round_trip(client: AsyncClient) -> None:
    async with client.sandbox() as sandbox:
        size = await sandbox.write_file("data/notes.txt", "written over HTTP\n")
        await sandbox.write_file("data/raw.bin", bytes(range(256)))
        text = await sandbox.read_file("data/notes.txt")
        raw = await sandbox.read_file("data/raw.bin")
        listed = await sandbox.list_files("data")
        await sandbox.delete_file("data/notes.txt")
        after_delete = [entry.name for entry in await sandbox.list_files("data")]
        await sandbox.delete_file("data", recursive=True)
        top = [entry.name for entry in await sandbox.list_files()]

    assert size == len("written over HTTP\n")
    assert text == b"written over HTTP\n"
    assert raw == bytes(range(256))
    assert sorted(entry.name for entry in listed) == ["notes.txt", "raw.bin"]
    assert all(isinstance(entry, FileInfo) for entry in listed)
    assert {entry.path for entry in listed} == {"/workspace/data/notes.txt", "/workspace/data/raw.bin"}
    assert after_delete == ["raw.bin"]
    assert "data" not in top


async def test_file_errors_are_the_library_types(client: AsyncClient) -> None:
    async with client.sandbox() as sandbox:
        with pytest.raises(SandboxFileNotFound) as missing:
            await sandbox.read_file("nope.txt")
        with pytest.raises(PathOutsideWorkspace) as outside:
            await sandbox.read_file("../../etc/passwd")
        with pytest.raises(InvalidRequest, match="append"):
            await sandbox.write_file("log.txt", "more", append=True)

    assert isinstance(missing.value, FileNotFoundError)
    assert isinstance(outside.value, PermissionError)


# -- errors -----------------------------------------------------------------------------------------
async def test_refusals_are_the_library_exceptions(client: AsyncClient) -> None:
    with pytest.raises(SandboxNotFound):
        await client.get_sandbox("no-such-sandbox")
    with pytest.raises(UnknownLanguage):
        await client.create_sandbox(language="cobol")
    with pytest.raises(InvalidRequest, match="memory_mb"):
        await client.create_sandbox(limits={"memory_mb": 1})
    with pytest.raises(BackendUnavailable) as backend:
        await client.create_sandbox(backend="process")  # not offered by a server unless allowed
    assert backend.value.backend == "process"
    async with client.sandbox() as sandbox:
        with pytest.raises(EmptyCode):
            await sandbox.exec("   ")
        with pytest.raises(CodeTooLarge):
            await sandbox.exec("#" * (1024 * 1024 + 1))
        with pytest.raises(UnknownLanguage):
            await sandbox.exec("x", "cobol")


async def test_a_bad_or_missing_key_is_an_authentication_error(live_server: LiveServer, api_key: str) -> None:
    for key in ("ak_wrong", ""):
        async with AsyncClient(live_server.url, key) as client:
            with pytest.raises(AuthenticationError, match="AIRLOCK_API_KEY") as caught:
                await client.list_sandboxes()
        assert isinstance(caught.value, PermissionError)


async def test_a_tenant_limit_is_rate_limited_with_retry_after(
    server_factory: Callable[[], LiveServer], namespace_backend: str
) -> None:
    server = server_factory()
    server.env["AIRLOCK_SERVER__MAX_SANDBOXES_PER_TENANT"] = "1"
    server.start()

    async with AsyncClient(server.url, server.key("alice")) as client, client.sandbox():
        with pytest.raises(RateLimited) as caught:
            await client.create_sandbox()

    assert caught.value.retry_after == 10


async def test_nothing_listening_is_server_unavailable_saying_how_to_start_one() -> None:
    async with AsyncClient(free_url(), "ak_any") as client:
        with pytest.raises(ServerUnavailable, match="airlock serve") as caught:
            await client.list_sandboxes()

    assert isinstance(caught.value, ConnectionError)


async def test_a_closed_client_refuses_requests(client: AsyncClient) -> None:
    await client.aclose()

    with pytest.raises(SandboxStateError, match="closed"):
        await client.list_sandboxes()


async def test_url_and_key_come_from_the_environment(
    live_server: LiveServer, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRLOCK_URL", live_server.url)
    monkeypatch.setenv("AIRLOCK_API_KEY", api_key)

    async with AsyncClient() as client:
        assert client.url == live_server.url
        assert await client.list_sandboxes() == []


# -- the blocking client ----------------------------------------------------------------------------
def test_sync_client(live_server: LiveServer, api_key: str) -> None:
    with Client(live_server.url, api_key) as client:
        once = client.run("print(6 * 7)")
        with client.sandbox(language="python") as sandbox:
            sandbox.exec("x = 41")
            result = sandbox.exec("print(x + 1)")
            items = list(sandbox.stream("print('streamed')"))
            sandbox.write_file("f.txt", "sync")
            read_back = sandbox.read_file("f.txt")
            sandbox.stop()
            stopped = sandbox.state
            restarted = sandbox.start()
            listed = [sb.id for sb in client.list_sandboxes()]
        with pytest.raises(SandboxNotFound):
            client.get_sandbox(sandbox.id)
        history = client.executions(limit=10)

    assert once.stdout == "42\n"
    assert result.stdout == "42\n"
    assert isinstance(items[0], OutputChunk)
    assert isinstance(items[-1], ExecutionResult)
    assert items[-1].stdout == "streamed\n"
    assert read_back == b"sync"
    assert stopped is SandboxState.STOPPED
    assert restarted is sandbox
    assert listed == [sandbox.id]
    assert len(history) == 4
    with pytest.raises(SandboxStateError, match="closed"):
        client.run("print(1)")


def test_sync_client_without_a_server() -> None:
    with Client(free_url(), "ak_any") as client, pytest.raises(ServerUnavailable, match="airlock serve"):
        client.list_sandboxes()
