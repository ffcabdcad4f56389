"""The REST server over real HTTP: an ``airlock serve`` subprocess on loopback, driven with plain
httpx (not the SDK). What each endpoint answers, what one tenant can see of another, the per-tenant
limits, and the error envelope that bad input gets (never a 500)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import LiveServer
from server_api import create, error, events, exec_ok, http

NO_SUCH_SANDBOX = "01nosuchsandbox00000000000"
#: Prints, then waits for the file ``go`` in its workspace: an exec that is surely in flight.
WAIT_FOR_GO = "import os, time\nprint('started', flush=True)\nwhile not os.path.exists('go'):\n    time.sleep(0.01)"


@pytest.fixture
def api(live_server: LiveServer, namespace_backend: str) -> Iterator[httpx.Client]:
    with http(live_server, "alice") as client:
        yield client


@pytest.fixture
def sandbox_id(api: httpx.Client) -> str:
    return create(api, language="python")


@pytest.fixture
def start_server(server_factory: Callable[[], LiveServer], namespace_backend: str) -> Callable[..., LiveServer]:
    """Start a server with some ``server.*`` settings changed: ``start_server(max_body_bytes=4096)``."""

    def start(**server_settings: int) -> LiveServer:
        server = server_factory()
        server.env.update({f"AIRLOCK_SERVER__{k.upper()}": str(v) for k, v in server_settings.items()})
        server.start()
        return server

    return start


def metrics(server: LiveServer) -> dict[str, float]:
    """The server's Prometheus samples, by name and labels."""
    reply = httpx.get(f"{server.url}/metrics")
    assert reply.headers["content-type"].startswith("text/plain")
    samples = (line.rpartition(" ") for line in reply.text.splitlines() if line and not line.startswith("#"))
    return {name: float(value) for name, _, value in samples}


def execution_ids(api: httpx.Client, **params: str | int) -> list[str]:
    reply = api.get("/v1/executions", params=params)
    assert reply.status_code == 200, reply.text
    return [e["id"] for e in reply.json()["executions"]]


# -- documents and probes ---------------------------------------------------------------------------
def test_the_openapi_document_lists_the_api_paths(live_server: LiveServer) -> None:
    document = httpx.get(f"{live_server.url}/openapi.json").json()
    sandbox = "/v1/sandboxes/{sandbox_id}"
    expected = {
        "/v1/sandboxes",
        sandbox,
        f"{sandbox}/stop",
        f"{sandbox}/start",
        f"{sandbox}/exec",
        f"{sandbox}/exec/stream",
        f"{sandbox}/files",
        f"{sandbox}/files/list",
        f"{sandbox}/files/mkdir",
        f"{sandbox}/contexts/reset",
        "/v1/run",
        "/v1/executions",
        "/api/llm/execute",
        "/api/llm/parse-execute",
    }
    assert document["openapi"].startswith("3.")
    assert expected <= set(document["paths"])


def test_health_and_readiness_need_no_key(live_server: LiveServer) -> None:
    health, ready = httpx.get(f"{live_server.url}/healthz"), httpx.get(f"{live_server.url}/readyz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_metrics_count_executions_and_live_sandboxes(live_server: LiveServer, api: httpx.Client) -> None:
    assert metrics(live_server)["airlock_live_sandboxes"] == 0
    sandbox_id = create(api)
    exec_ok(api, sandbox_id, "print(1)")
    samples = metrics(live_server)
    assert samples['airlock_execs_total{language="python",outcome="ok"}'] == 1
    assert samples["airlock_live_sandboxes"] == 1
    api.delete(f"/v1/sandboxes/{sandbox_id}")
    assert metrics(live_server)["airlock_live_sandboxes"] == 0


def test_metrics_count_error_replies_by_code(live_server: LiveServer, api: httpx.Client) -> None:
    api.get(f"/v1/sandboxes/{NO_SUCH_SANDBOX}")
    api.post("/v1/run", json={"code": ""})
    samples = metrics(live_server)
    assert samples.get('airlock_http_errors_total{code="not_found"}') == 1
    assert samples.get('airlock_http_errors_total{code="empty_code"}') == 1


# -- sandboxes --------------------------------------------------------------------------------------
def test_a_sandbox_lives_through_create_exec_stop_start_and_delete(api: httpx.Client) -> None:
    created = api.post("/v1/sandboxes", json={"language": "python"})
    assert created.status_code == 201
    sandbox = f"/v1/sandboxes/{created.json()['id']}"
    assert [s["id"] for s in api.get("/v1/sandboxes").json()["sandboxes"]] == [created.json()["id"]]
    assert api.get(sandbox).json()["status"] == "running"

    assert exec_ok(api, created.json()["id"], "x = 41")["exit_code"] == 0
    assert exec_ok(api, created.json()["id"], "print(x + 1)")["stdout"] == "42\n"
    assert api.put(f"{sandbox}/files", params={"path": "notes.txt"}, content=b"kept").status_code == 200

    assert api.post(f"{sandbox}/stop").json()["status"] == "stopped"
    assert error(api.post(f"{sandbox}/exec", json={"code": "print(1)"}), 409) == "invalid_state"
    assert api.post(f"{sandbox}/start").json()["status"] == "running"
    assert api.get(f"{sandbox}/files", params={"path": "notes.txt"}).content == b"kept"
    assert exec_ok(api, created.json()["id"], "print(open('notes.txt').read())")["stdout"] == "kept\n"

    assert api.delete(sandbox).status_code == 204
    assert error(api.get(sandbox), 404) == "not_found"
    assert api.get("/v1/sandboxes").json() == {"sandboxes": []}


def test_a_transition_the_state_forbids_is_409(api: httpx.Client, sandbox_id: str) -> None:
    sandbox = f"/v1/sandboxes/{sandbox_id}"
    assert error(api.post(f"{sandbox}/start"), 409) == "invalid_state"
    api.post(f"{sandbox}/stop")
    assert error(api.post(f"{sandbox}/stop"), 409) == "invalid_state"
    assert error(api.get(f"{sandbox}/files/list"), 409) == "invalid_state"
    assert error(api.post(f"{sandbox}/contexts/reset", json={}), 409) == "invalid_state"


def test_run_executes_in_a_sandbox_of_its_own(api: httpx.Client) -> None:
    reply = api.post("/v1/run", json={"language": "bash", "code": "echo hi; exit 3"})
    assert reply.status_code == 200
    assert (reply.json()["stdout"], reply.json()["exit_code"]) == ("hi\n", 3)
    assert api.get("/v1/sandboxes").json() == {"sandboxes": []}
    [execution] = api.get("/v1/executions").json()["executions"]
    assert (execution["id"], execution["sandbox_id"], execution["status"]) == (
        reply.json()["execution_id"],
        None,
        "error",
    )


def test_exec_streams_stdout_events_then_the_result(api: httpx.Client, sandbox_id: str) -> None:
    code = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.05)"
    with api.stream("POST", f"/v1/sandboxes/{sandbox_id}/exec/stream", json={"code": code}) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        received = list(events(reply.iter_lines()))
    kinds = [kind for kind, _ in received]
    assert kinds[-1] == "result"
    assert set(kinds[:-1]) == {"stdout"}
    result = received[-1][1]
    assert "".join(data["data"] for kind, data in received[:-1]) == result["stdout"] == "0\n1\n2\n"
    assert result["execution_id"] in execution_ids(api)


def test_files_are_binary_safe_and_can_be_listed_and_deleted(api: httpx.Client, sandbox_id: str) -> None:
    files, data = f"/v1/sandboxes/{sandbox_id}/files", bytes(range(256)) * 4
    written = api.put(files, params={"path": "bin/all.bytes"}, content=data)
    assert written.json() == {"path": "bin/all.bytes", "size": 1024}

    read = api.get(files, params={"path": "bin/all.bytes"})
    assert read.headers["content-type"] == "application/octet-stream"
    assert read.content == data
    [entry] = api.get(f"{files}/list", params={"path": "bin"}).json()["entries"]
    assert (entry["name"], entry["type"], entry["size"]) == ("all.bytes", "file", 1024)

    assert api.delete(files, params={"path": "bin/all.bytes"}).status_code == 204
    assert error(api.get(files, params={"path": "bin/all.bytes"}), 404) == "file_not_found"
    assert api.get(f"{files}/list", params={"path": "bin"}).json() == {"entries": []}


def test_resetting_the_repl_context_forgets_its_variables(api: httpx.Client, sandbox_id: str) -> None:
    exec_ok(api, sandbox_id, "x = 1")
    assert api.post(f"/v1/sandboxes/{sandbox_id}/contexts/reset", json={}).json() == {"reset": True}
    assert exec_ok(api, sandbox_id, "print(x)")["error"]["name"] == "NameError"


def test_history_filters_by_sandbox_agent_status_time_and_limit(api: httpx.Client) -> None:
    first, second = create(api), create(api)
    one = exec_ok(api, first, "print(1)", agent_id="agent-1")["execution_id"]
    two = exec_ok(api, first, "1 / 0", agent_id="agent-2")["execution_id"]
    three = exec_ok(api, second, "print(3)", agent_id="agent-1")["execution_id"]
    started = {e["id"]: e["started_at"] for e in api.get("/v1/executions").json()["executions"]}

    assert execution_ids(api) == [three, two, one]
    assert execution_ids(api, sandbox_id=first) == [two, one]
    assert execution_ids(api, agent_id="agent-1") == [three, one]
    assert execution_ids(api, status="error") == [two]
    assert execution_ids(api, limit=1) == [three]
    assert execution_ids(api, since=started[two]) == [three, two]
    assert execution_ids(api, until=started[two]) == [one]


# -- the seeds' API ---------------------------------------------------------------------------------
def test_llm_execute_runs_one_shot(api: httpx.Client) -> None:
    request = {"agent_id": "seed", "language": "python", "code": "print(6 * 7)", "timeout_seconds": 10}
    reply = api.post("/api/llm/execute", json=request).json()
    assert (reply["stdout"], reply["success"], reply["exit_code"], reply["vm_id"]) == ("42\n", True, 0, None)
    assert execution_ids(api, agent_id="seed") == [reply["execution_id"]]


def test_llm_execute_with_a_vm_id_runs_in_that_sandbox(api: httpx.Client, sandbox_id: str) -> None:
    request = {"agent_id": "seed", "language": "python", "vm_id": sandbox_id}
    api.post("/api/llm/execute", json={**request, "code": "x = 6"})
    reply = api.post("/api/llm/execute", json={**request, "code": "print(x * 7)"}).json()
    assert (reply["stdout"], reply["vm_id"]) == ("42\n", sandbox_id)
    assert len(execution_ids(api, sandbox_id=sandbox_id)) == 2


def test_llm_parse_execute_runs_the_runnable_blocks_in_order(api: httpx.Client, sandbox_id: str) -> None:
    llm_response = (
        "First Python:\n```python\nopen('log', 'a').write('python\\n')\n```\n"
        "What it prints:\n```text\nnot code\n```\n"
        "Then bash:\n```bash\necho bash >> log; cat log\n```\n"
    )
    request = {"agent_id": "seed", "llm_response": llm_response, "vm_id": sandbox_id}
    reply = api.post("/api/llm/parse-execute", json=request).json()
    assert reply["blocks_found"] == 3
    assert [(r["language"], r["success"]) for r in reply["results"]] == [("python", True), ("bash", True)]
    assert reply["results"][1]["stdout"] == "python\nbash\n"
    assert [(s["index"], s["tag"]) for s in reply["skipped"]] == [(1, "text")]
    assert reply["stopped_early"] is False


@pytest.mark.parametrize(("stop_on_failure", "ran"), [(True, ["python"]), (False, ["python", "bash"])])
def test_llm_parse_execute_stops_after_a_failing_block(
    api: httpx.Client, stop_on_failure: bool, ran: list[str]
) -> None:
    llm_response = "```python\nraise ValueError('no')\n```\n```bash\necho after\n```\n"
    request = {"agent_id": "seed", "llm_response": llm_response, "stop_on_failure": stop_on_failure}
    reply = api.post("/api/llm/parse-execute", json=request).json()
    assert [r["language"] for r in reply["results"]] == ran
    assert reply["results"][0]["success"] is False
    assert "ValueError: no" in reply["results"][0]["error"]
    assert reply["stopped_early"] is stop_on_failure


# -- keys and tenants -------------------------------------------------------------------------------
@pytest.mark.parametrize("authorization", [None, "Bearer ak_not-a-key", "Basic YWxpY2U6c2VjcmV0", "ak_no-scheme"])
def test_a_request_without_a_valid_key_is_401(live_server: LiveServer, authorization: str | None) -> None:
    live_server.key("alice")  # a key exists; the request does not carry it
    headers = {"Authorization": authorization} if authorization else {}
    for reply in (
        httpx.get(f"{live_server.url}/v1/sandboxes", headers=headers),
        httpx.post(f"{live_server.url}/api/llm/execute", headers=headers, json={}),
    ):
        assert error(reply, 401) == "unauthorized"
        assert reply.headers["WWW-Authenticate"] == "Bearer"


def attempts_on(client: httpx.Client, sandbox_id: str) -> dict[str, httpx.Response]:
    """Every endpoint that takes a sandbox id, called on ``sandbox_id`` (destructive ones last)."""
    sandbox, python = f"/v1/sandboxes/{sandbox_id}", "```python\nprint(1)\n```"
    return {
        "get": client.get(sandbox),
        "exec": client.post(f"{sandbox}/exec", json={"code": "print(x)"}),
        "exec/stream": client.post(f"{sandbox}/exec/stream", json={"code": "print(x)"}),
        "files get": client.get(f"{sandbox}/files", params={"path": "secret.txt"}),
        "files list": client.get(f"{sandbox}/files/list"),
        "files put": client.put(f"{sandbox}/files", params={"path": "secret.txt"}, content=b"overwritten"),
        "files mkdir": client.post(f"{sandbox}/files/mkdir", params={"path": "new"}),
        "files delete": client.delete(f"{sandbox}/files", params={"path": "secret.txt"}),
        "contexts/reset": client.post(f"{sandbox}/contexts/reset", json={}),
        "llm execute": client.post(
            "/api/llm/execute", json={"agent_id": "b", "language": "python", "code": "print(x)", "vm_id": sandbox_id}
        ),
        "llm parse-execute": client.post(
            "/api/llm/parse-execute", json={"agent_id": "b", "llm_response": python, "vm_id": sandbox_id}
        ),
        "stop": client.post(f"{sandbox}/stop"),
        "start": client.post(f"{sandbox}/start"),
        "delete": client.delete(sandbox),
    }


def test_another_tenants_sandbox_is_not_found_on_every_endpoint(
    live_server: LiveServer, api: httpx.Client, sandbox_id: str
) -> None:
    api.put(f"/v1/sandboxes/{sandbox_id}/files", params={"path": "secret.txt"}, content=b"alice's")
    exec_ok(api, sandbox_id, "x = 'alice'")
    with http(live_server, "bob") as bob:
        theirs, nobodys = attempts_on(bob, sandbox_id), attempts_on(bob, NO_SUCH_SANDBOX)

    assert {n: (r.status_code, error(r, r.status_code)) for n, r in theirs.items()} == dict.fromkeys(
        theirs, (404, "not_found")
    )
    # Word for word what a sandbox that does not exist gets: nothing tells the two apart.
    assert {n: r.text.replace(sandbox_id, "?") for n, r in theirs.items()} == {
        n: r.text.replace(NO_SUCH_SANDBOX, "?") for n, r in nobodys.items()
    }
    assert api.get(f"/v1/sandboxes/{sandbox_id}").json()["status"] == "running"
    assert api.get(f"/v1/sandboxes/{sandbox_id}/files", params={"path": "secret.txt"}).content == b"alice's"
    assert exec_ok(api, sandbox_id, "print(x)")["stdout"] == "alice\n"


def test_another_tenant_sees_none_of_the_sandboxes_or_history(
    live_server: LiveServer, api: httpx.Client, sandbox_id: str
) -> None:
    exec_ok(api, sandbox_id, "print(1)", agent_id="alice-agent")
    api.post("/v1/run", json={"code": "print(2)", "agent_id": "alice-agent"})
    with http(live_server, "bob") as bob:
        own = create(bob)
        assert [s["id"] for s in bob.get("/v1/sandboxes").json()["sandboxes"]] == [own]
        assert execution_ids(bob) == []
        assert execution_ids(bob, sandbox_id=sandbox_id) == []
        assert execution_ids(bob, agent_id="alice-agent") == []
    assert len(execution_ids(api)) == 2
    assert [s["id"] for s in api.get("/v1/sandboxes").json()["sandboxes"]] == [sandbox_id]


def test_a_tenant_over_its_sandbox_limit_gets_429(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(max_sandboxes_per_tenant=2)
    with http(server, "alice") as alice, http(server, "bob") as bob:
        first, _ = create(alice), create(alice)
        refused = alice.post("/v1/sandboxes", json={})
        assert error(refused, 429) == "too_many_sandboxes"
        assert int(refused.headers["Retry-After"]) > 0
        create(bob)  # another tenant is not affected
        alice.delete(f"/v1/sandboxes/{first}")
        create(alice)  # a deleted sandbox frees its place


def test_the_sandbox_limit_holds_for_concurrent_creates(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(max_sandboxes_per_tenant=2)
    with http(server, "alice") as alice, ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: alice.post("/v1/sandboxes", json={}), range(4)))
        assert sorted(r.status_code for r in replies) == [201, 201, 429, 429]
        assert len(alice.get("/v1/sandboxes").json()["sandboxes"]) == 2


def test_a_tenant_over_its_exec_limit_gets_429_and_others_do_not(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(max_concurrent_execs_per_tenant=1)
    with http(server, "alice") as alice, http(server, "bob") as bob:
        busy, idle, bobs = create(alice), create(alice), create(bob)
        stream = alice.stream("POST", f"/v1/sandboxes/{busy}/exec/stream", json={"code": WAIT_FOR_GO})
        with stream as reply:
            received = events(reply.iter_lines())
            assert next(received) == ("stdout", {"data": "started\n"})
            refused = alice.post(f"/v1/sandboxes/{idle}/exec", json={"code": "print(1)"})
            assert error(refused, 429) == "too_many_execs"
            assert int(refused.headers["Retry-After"]) > 0
            assert exec_ok(bob, bobs, "print('bob')")["stdout"] == "bob\n"
            alice.put(f"/v1/sandboxes/{busy}/files", params={"path": "go"}, content=b"")
            assert [kind for kind, _ in received][-1] == "result"
        assert exec_ok(alice, idle, "print(2)")["stdout"] == "2\n"  # the slot is free again


# -- bad input --------------------------------------------------------------------------------------
def test_bad_input_gets_a_4xx_with_a_stable_code(api: httpx.Client, sandbox_id: str) -> None:
    sandbox, as_json = f"/v1/sandboxes/{sandbox_id}", {"content-type": "application/json"}
    replies = {
        "malformed json": api.post(f"{sandbox}/exec", content=b'{"code": "print(1)"', headers=as_json),
        "a field of the wrong type": api.post(f"{sandbox}/exec", json={"code": 1}),
        "an unknown field": api.post(f"{sandbox}/exec", json={"code": "1", "nope": True}),
        "a bad env name": api.post(f"{sandbox}/exec", json={"code": "1", "env": {"1X": "y"}}),
        "unknown language, exec": api.post(f"{sandbox}/exec", json={"code": "1", "language": "cobol"}),
        "unknown language, run": api.post("/v1/run", json={"code": "1", "language": "cobol"}),
        "unknown language, create": api.post("/v1/sandboxes", json={"language": "cobol"}),
        "unknown language, llm": api.post("/api/llm/execute", json={"agent_id": "a", "language": "cobol", "code": "1"}),
        "empty code, exec": api.post(f"{sandbox}/exec", json={"code": ""}),
        "blank code, run": api.post("/v1/run", json={"code": " \n"}),
        "empty code, llm": api.post("/api/llm/execute", json={"agent_id": "a", "language": "python", "code": ""}),
        "empty argv": api.post(f"{sandbox}/exec", json={"language": "command", "argv": []}),
        "stdin not base64": api.post(f"{sandbox}/exec", json={"code": "1", "stdin_b64": "%%%"}),
        "unknown sandbox": api.post(f"/v1/sandboxes/{NO_SUCH_SANDBOX}/exec", json={"code": "1"}),
        "unknown route": api.get("/v1/nothing-here"),
        "missing file": api.get(f"{sandbox}/files", params={"path": "nothing"}),
        "path outside the workspace": api.get(f"{sandbox}/files", params={"path": "../../../etc/passwd"}),
        "limit 0": api.get("/v1/executions", params={"limit": 0}),
        "since not a time": api.get("/v1/executions", params={"since": "yesterday"}),
    }
    assert {name: (r.status_code, error(r, r.status_code)) for name, r in replies.items()} == {
        "malformed json": (422, "validation_error"),
        "a field of the wrong type": (422, "validation_error"),
        "an unknown field": (422, "validation_error"),
        "a bad env name": (422, "validation_error"),
        "unknown language, exec": (422, "unknown_language"),
        "unknown language, run": (422, "unknown_language"),
        "unknown language, create": (422, "unknown_language"),
        "unknown language, llm": (422, "unknown_language"),
        "empty code, exec": (422, "empty_code"),
        "blank code, run": (422, "empty_code"),
        "empty code, llm": (422, "empty_code"),
        "empty argv": (422, "empty_code"),
        "stdin not base64": (422, "invalid_request"),
        "unknown sandbox": (404, "not_found"),
        "unknown route": (404, "not_found"),
        "missing file": (404, "file_not_found"),
        "path outside the workspace": (403, "path_outside_workspace"),
        "limit 0": (422, "validation_error"),
        "since not a time": (422, "validation_error"),
    }


def test_a_validation_error_names_the_fields(api: httpx.Client, sandbox_id: str) -> None:
    reply = api.post(f"/v1/sandboxes/{sandbox_id}/exec", json={"code": 1, "timeout_ms": 0})
    assert error(reply, 422) == "validation_error"
    assert {e["field"] for e in reply.json()["error"]["details"]["errors"]} == {"body.code", "body.timeout_ms"}
    assert "body.code" in reply.json()["error"]["message"]


def test_a_body_that_is_not_utf8_is_a_validation_error(api: httpx.Client, sandbox_id: str) -> None:
    """Like any other body that is not JSON, and not a 400 with the catch-all code ``http_error``."""
    reply = api.post(
        f"/v1/sandboxes/{sandbox_id}/exec", content=b'{"code": "\xff"}', headers={"content-type": "application/json"}
    )
    assert error(reply, 422) == "validation_error"


def test_a_body_over_the_limit_is_413(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(max_body_bytes=4096)
    big = os.urandom(8192)
    with http(server) as api:
        files = f"/v1/sandboxes/{create(api)}/files"
        replies = {
            "json, announced": api.post("/v1/run", json={"code": "#" + "x" * 8192}),
            "file, announced": api.put(files, params={"path": "f"}, content=big),
            "file, chunked": api.put(files, params={"path": "f"}, content=iter([big[:4000], big[4000:]])),
        }
        assert {n: (r.status_code, error(r, r.status_code)) for n, r in replies.items()} == dict.fromkeys(
            replies, (413, "payload_too_large")
        )
        assert api.put(files, params={"path": "f"}, content=big[:2048]).json()["size"] == 2048


def test_a_chunked_json_body_over_the_limit_is_413(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(max_body_bytes=4096)
    body = b'{"code": "#' + b"x" * 8192 + b'"}'
    with http(server) as api:
        chunked = iter([body[:4000], body[4000:]])
        reply = api.post("/v1/run", content=chunked, headers={"content-type": "application/json"})
        assert error(reply, 413) == "payload_too_large"


@pytest.mark.parametrize(
    ("method", "suffix", "status", "code"), [("POST", "/stop", 409, "invalid_state"), ("DELETE", "", 404, "not_found")]
)
def test_a_file_read_cut_short_by_stop_or_delete_is_not_a_server_error(
    api: httpx.Client, sandbox_id: str, method: str, suffix: str, status: int, code: str
) -> None:
    """What the sandbox's state explains is a 4xx, also when the state changes while the request runs."""
    sandbox = f"/v1/sandboxes/{sandbox_id}"
    api.put(f"{sandbox}/files", params={"path": "big"}, content=os.urandom(24 << 20))
    with ThreadPoolExecutor(1) as pool:
        reading = pool.submit(api.get, f"{sandbox}/files", params={"path": "big"})
        time.sleep(0.05)  # most likely in flight by now; if not, the read is refused before it starts
        assert api.request(method, sandbox + suffix).status_code in (200, 204)
        reply = reading.result()
    assert reply.status_code == 200 or error(reply, status) == code


def test_only_the_offered_backends_can_be_asked_for(api: httpx.Client) -> None:
    """``process`` isolates nothing: a client cannot ask for it unless the server offers it."""
    before = api.get("/v1/sandboxes").json()["sandboxes"]
    assert error(api.post("/v1/sandboxes", json={"backend": "process"}), 422) == "backend_not_allowed"
    assert error(api.post("/v1/run", json={"code": "print(1)", "backend": "process"}), 422) == "backend_not_allowed"
    assert api.get("/v1/sandboxes").json()["sandboxes"] == before
