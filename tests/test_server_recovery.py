"""What survives the server: ``kill -9`` and a restart on the same home keep the history and the
workspaces (no sandbox process outlives the server), and SIGTERM lets an exec in flight finish."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import LiveServer
from server_api import create, error, events, exec_ok, http, processes_of, wait_for_no_processes


@pytest.fixture
def server(server_factory: Callable[[], LiveServer], namespace_backend: str) -> LiveServer:
    server = server_factory()
    server.start()
    return server


def sandboxes(api: httpx.Client) -> dict[str, dict[str, str]]:
    return {s["id"]: s for s in api.get("/v1/sandboxes").json()["sandboxes"]}


def test_after_kill_9_a_restart_keeps_history_and_workspaces(server: LiveServer) -> None:
    with http(server) as api:
        kept, gone, stopped_then_gone = create(api), create(api), create(api)
        exec_ok(api, kept, "x = 1")
        api.put(f"/v1/sandboxes/{kept}/files", params={"path": "data.txt"}, content=b"survives")
        api.post(f"/v1/sandboxes/{stopped_then_gone}/stop")
        history = api.get("/v1/executions").json()

    assert processes_of({kept, gone}) != []
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    assert wait_for_no_processes(server.sandbox_ids()) == []
    for sandbox_id in (gone, stopped_then_gone):
        shutil.rmtree(server.sandbox_root / sandbox_id / "workspace")
    server.start()

    with http(server) as api:
        assert api.get("/v1/executions").json() == history
        listed = sandboxes(api)
        assert (listed[kept]["status"], listed[gone]["status"]) == ("stopped", "lost")
        assert "server stopped" in listed[kept]["last_error"]
        assert "workspace is gone" in listed[gone]["last_error"]

        assert api.post(f"/v1/sandboxes/{kept}/start").json()["status"] == "running"
        assert api.get(f"/v1/sandboxes/{kept}/files", params={"path": "data.txt"}).content == b"survives"
        assert exec_ok(api, kept, "print(open('data.txt').read())")["stdout"] == "survives\n"
        for lost in (gone, stopped_then_gone):
            assert error(api.post(f"/v1/sandboxes/{lost}/start"), 409) == "sandbox_lost"
        assert sandboxes(api)[stopped_then_gone]["status"] == "lost"


def test_sigterm_lets_the_exec_in_flight_finish_and_keeps_the_sandboxes(server: LiveServer) -> None:
    code = "import time\nprint('started', flush=True)\ntime.sleep(1)\nprint('done')"
    with http(server) as api:
        sandbox_id = create(api)
        api.put(f"/v1/sandboxes/{sandbox_id}/files", params={"path": "data.txt"}, content=b"survives")
        stream = api.stream("POST", f"/v1/sandboxes/{sandbox_id}/exec/stream", json={"code": code})
        with stream as reply, ThreadPoolExecutor(1) as pool:
            received = events(reply.iter_lines())
            assert next(received) == ("stdout", {"data": "started\n"})
            assert processes_of({sandbox_id}) != []
            stopping = pool.submit(server.stop, signal.SIGTERM)
            kind, result = list(received)[-1]
            stopping.result()

    assert (kind, result["stdout"], result["exit_code"]) == ("result", "started\ndone\n", 0)
    assert wait_for_no_processes({sandbox_id}) == []
    assert (server.sandbox_root / sandbox_id / "workspace" / "data.txt").read_bytes() == b"survives"

    server.start()
    with http(server) as api:
        assert sandboxes(api)[sandbox_id]["status"] == "stopped"
        assert [e["id"] for e in api.get("/v1/executions").json()["executions"]] == [result["execution_id"]]
        assert api.post(f"/v1/sandboxes/{sandbox_id}/start").json()["status"] == "running"
        assert exec_ok(api, sandbox_id, "print(open('data.txt').read())")["stdout"] == "survives\n"


def test_sigterm_stops_the_server_with_exit_code_0(server: LiveServer) -> None:
    with http(server) as api:
        create(api)
    assert server.stop(signal.SIGTERM) == 0
