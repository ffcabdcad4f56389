"""``airlock sandbox | files | history``: the CLI against a real ``airlock serve`` on loopback, each
command run as a real subprocess, as people and scripts run it."""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from airlock.cli import EXIT_SANDBOX_FAILED, EXIT_TIMEOUT, EXIT_USAGE
from airlock.cli_remote import EXIT_REFUSED
from conftest import LiveServer

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(live_server: LiveServer, namespace_backend: str) -> Cli:
    """``airlock ARGS`` against the live server, with an API key of tenant alice in the environment."""
    key = live_server.key("alice")

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return live_server.cli(*args, check=False, input=stdin, env={"AIRLOCK_API_KEY": key})

    return run


@pytest.fixture
def sandbox_id(cli: Cli) -> str:
    """A running sandbox of alice's (the server deletes it when it stops)."""
    created = cli("sandbox", "create", "-q")
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def ok(completed: subprocess.CompletedProcess[str]) -> str:
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def one_line_error(completed: subprocess.CompletedProcess[str], code: int) -> str:
    assert completed.returncode == code, (completed.stdout, completed.stderr)
    assert completed.stdout == ""
    assert completed.stderr.startswith("airlock: "), completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
    return completed.stderr


def free_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


# -- sandbox ----------------------------------------------------------------------------------------
def test_create_list_status_delete(cli: Cli) -> None:
    created = json.loads(ok(cli("sandbox", "create", "-l", "python", "--memory-mb", "256", "--json")))
    quiet_id = ok(cli("sandbox", "create", "-q", "--env", "A=B")).strip()

    listed = json.loads(ok(cli("sandbox", "list", "--json")))
    table = ok(cli("sandbox", "list")).splitlines()
    status = json.loads(ok(cli("sandbox", "status", created["id"], "--json")))
    status_text = ok(cli("sandbox", "status", created["id"]))
    deleted = ok(cli("sandbox", "delete", quiet_id))
    gone = cli("sandbox", "status", quiet_id)

    assert created["status"] == "running"
    assert created["limits"]["memory_mb"] == 256
    assert sorted(sb["id"] for sb in listed) == sorted([created["id"], quiet_id])
    assert table[0].split() == ["ID", "STATUS", "LANGUAGE", "BACKEND", "CREATED", "(UTC)"]
    assert {line.split()[0] for line in table[1:]} == {created["id"], quiet_id}
    assert status["id"] == created["id"]
    assert status["backend"] == "namespace"
    assert "memory_mb=256" in status_text
    assert deleted == f"deleted {quiet_id}\n"
    assert "no sandbox" in one_line_error(gone, EXIT_REFUSED)
    assert json.loads(ok(cli("sandbox", "delete", created["id"], "--json"))) == {"id": created["id"], "deleted": True}
    assert json.loads(ok(cli("sandbox", "list", "--json"))) == []


def test_exec_streams_the_output_and_keeps_the_repl_state(cli: Cli, sandbox_id: str) -> None:
    ok(cli("sandbox", "exec", sandbox_id, "-c", "x = 41"))

    assert ok(cli("sandbox", "exec", sandbox_id, "-c", "print(x + 1)")) == "42\n"
    assert ok(cli("sandbox", "exec", sandbox_id, "--fresh", "-c", "print('x' in dir())")) == "False\n"
    assert ok(cli("sandbox", "exec", sandbox_id, "-l", "bash", "-", stdin="echo $((6 * 7))\n")) == "42\n"
    assert ok(cli("sandbox", "exec", sandbox_id, "-l", "command", "--", "echo", "-n", "argv")) == "argv"


def test_exec_runs_a_file_in_the_language_of_its_suffix(cli: Cli, sandbox_id: str, tmp_path: Path) -> None:
    (tmp_path / "script.sh").write_text('echo "bash says $GREETING"\n')

    completed = cli("sandbox", "exec", sandbox_id, str(tmp_path / "script.sh"), "--env", "GREETING=hi")

    assert ok(completed) == "bash says hi\n"


def test_exec_exit_codes(cli: Cli, sandbox_id: str) -> None:
    failed = cli("sandbox", "exec", sandbox_id, "-l", "bash", "-c", "echo partial; exit 3")
    timed_out = cli(
        "sandbox",
        "exec",
        sandbox_id,
        "--timeout",
        "0.5",
        "-c",
        "print('before', flush=True); import time; time.sleep(30)",
    )
    raised = cli("sandbox", "exec", sandbox_id, "-c", "raise ValueError('boom')")

    assert (failed.returncode, failed.stdout) == (3, "partial\n")
    assert (timed_out.returncode, timed_out.stdout) == (EXIT_TIMEOUT, "before\n")
    assert "timed out" in timed_out.stderr
    assert raised.returncode == 1
    assert "ValueError: boom" in raised.stderr


def test_exec_json_is_the_whole_result_with_its_execution_id(cli: Cli, sandbox_id: str) -> None:
    completed = cli("sandbox", "exec", sandbox_id, "--json", "-c", "print(6 * 7)")

    result = json.loads(ok(completed))  # nothing but the JSON: live output is not echoed
    assert result["stdout"] == "42\n"
    assert result["sandbox_id"] == sandbox_id
    assert result["metadata"]["execution_id"]


def test_exec_bad_usage_exits_2(cli: Cli, sandbox_id: str) -> None:
    one_line_error(cli("sandbox", "exec", sandbox_id), EXIT_USAGE)
    one_line_error(cli("sandbox", "exec", sandbox_id, "-c", "1", "extra.py"), EXIT_USAGE)
    one_line_error(cli("sandbox", "exec", sandbox_id, "-l", "cobol", "-c", "1"), EXIT_USAGE)
    one_line_error(cli("sandbox", "exec", sandbox_id, "no-such-file.py"), EXIT_USAGE)


def test_stop_and_start(cli: Cli, sandbox_id: str) -> None:
    stopped = json.loads(ok(cli("sandbox", "stop", sandbox_id, "--json")))
    refused = cli("sandbox", "exec", sandbox_id, "-c", "print(1)")
    started = ok(cli("sandbox", "start", sandbox_id))
    after = cli("sandbox", "exec", sandbox_id, "-c", "print(1)")

    assert stopped["status"] == "stopped"
    assert "start it first" in one_line_error(refused, EXIT_REFUSED)
    assert started.splitlines()[1].split()[:2] == [sandbox_id, "running"]
    assert ok(after) == "1\n"


# -- files ------------------------------------------------------------------------------------------
def test_files_put_get_ls(cli: Cli, sandbox_id: str, tmp_path: Path) -> None:
    (tmp_path / "in.bin").write_bytes(bytes(range(256)))

    put = ok(cli("files", "put", "-s", sandbox_id, str(tmp_path / "in.bin"), "data/in.bin"))
    put_stdin = json.loads(ok(cli("files", "put", "-s", sandbox_id, "-", "data/note.txt", "--json", stdin="typed")))
    to_stdout = cli("files", "get", "-s", sandbox_id, "data/note.txt")
    ok(cli("files", "get", "data/in.bin", str(tmp_path / "out.bin"), "-s", sandbox_id))
    listing = ok(cli("files", "ls", "-s", sandbox_id, "data")).splitlines()
    entries = json.loads(ok(cli("files", "ls", "-s", sandbox_id, "--json")))

    assert put == "wrote 256 bytes to data/in.bin\n"
    assert put_stdin == {"path": "data/note.txt", "size": 5}
    assert ok(to_stdout) == "typed"
    assert (tmp_path / "out.bin").read_bytes() == bytes(range(256))
    assert listing[0].split() == ["TYPE", "SIZE", "MODE", "NAME"]
    assert sorted(line.split()[-1] for line in listing[1:]) == ["in.bin", "note.txt"]
    assert [(e["name"], e["type"]) for e in entries] == [("data", "dir")]


def test_file_errors(cli: Cli, sandbox_id: str, tmp_path: Path) -> None:
    assert "No such file" in one_line_error(cli("files", "get", "-s", sandbox_id, "nope.txt"), EXIT_REFUSED)
    assert "outside" in one_line_error(cli("files", "ls", "-s", sandbox_id, "../.."), EXIT_REFUSED)
    one_line_error(cli("files", "put", "-s", sandbox_id, str(tmp_path / "missing"), "x"), EXIT_USAGE)
    one_line_error(cli("files", "ls", "-s", "no-such-sandbox"), EXIT_REFUSED)


# -- history ----------------------------------------------------------------------------------------
def test_history_filters(cli: Cli, sandbox_id: str) -> None:
    ok(cli("sandbox", "exec", sandbox_id, "--agent", "agent-a", "-c", "print(1)"))
    cli("sandbox", "exec", sandbox_id, "--agent", "agent-b", "-c", "import sys; sys.exit(4)")

    everything = json.loads(ok(cli("history", "--json")))
    by_agent = json.loads(ok(cli("history", "--agent", "agent-a", "--json")))
    failures = json.loads(ok(cli("history", "--status", "error", "--json")))
    in_sandbox = json.loads(ok(cli("history", "--sandbox", sandbox_id, "--limit", "1", "--json")))
    table = ok(cli("history")).splitlines()

    assert len(everything) == 2
    assert [(r["agent_id"], r["status"], r["exit_code"]) for r in by_agent] == [("agent-a", "ok", 0)]
    assert [(r["agent_id"], r["exit_code"]) for r in failures] == [("agent-b", 4)]
    assert len(in_sandbox) == 1
    assert in_sandbox[0]["sandbox_id"] == sandbox_id
    assert table[0].split()[:3] == ["ID", "STARTED", "(UTC)"]
    assert len(table) == 3


# -- the server is not there, or will not have us ----------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("sandbox", "list"),
        ("sandbox", "create"),
        ("sandbox", "exec", "some-id", "-c", "print(1)"),
        ("files", "ls", "-s", "some-id"),
        ("history",),
    ],
)
def test_no_server_is_one_line_saying_to_run_airlock_serve(args: tuple[str, ...], tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRLOCK_")}
    env |= {"AIRLOCK_URL": free_url(), "AIRLOCK_HOME": str(tmp_path), "AIRLOCK_API_KEY": "ak_any"}

    completed = subprocess.run(
        [sys.executable, "-m", "airlock", *args], env=env, capture_output=True, text=True, timeout=60
    )

    assert "`airlock serve`" in one_line_error(completed, EXIT_SANDBOX_FAILED)


def test_a_bad_or_missing_api_key_is_refused(live_server: LiveServer, namespace_backend: str) -> None:
    bad = live_server.cli("sandbox", "list", "--api-key", "ak_wrong", check=False)
    missing = live_server.cli("sandbox", "list", check=False, env={"AIRLOCK_API_KEY": ""})

    assert "unknown API key" in one_line_error(bad, EXIT_REFUSED)
    assert "AIRLOCK_API_KEY" in one_line_error(missing, EXIT_REFUSED)


# -- progress ---------------------------------------------------------------------------------------
def test_progress_shows_on_a_terminal_only(live_server: LiveServer, sandbox_id: str) -> None:
    args = ["sandbox", "exec", sandbox_id, "-c", "import time; time.sleep(0.6); print('done')"]
    env = {**live_server.env, "AIRLOCK_URL": live_server.url, "AIRLOCK_API_KEY": live_server.key("alice")}
    main, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "airlock", *args], env=env, stdout=subprocess.PIPE, stderr=terminal
        )
        os.close(terminal)
        stdout, _ = process.communicate(timeout=60)
        shown = _read_all(main)
    finally:
        os.close(main)
    piped = live_server.cli(*args, env={"AIRLOCK_API_KEY": live_server.key("alice")})

    assert process.returncode == 0
    assert stdout == b"done\n"
    assert b"running" in shown
    assert shown.endswith(b"\r\x1b[K")  # the line is cleared before the output
    assert piped.stderr == ""


def _read_all(fd: int) -> bytes:
    data = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other end is closed
            return data
        if not chunk:
            return data
        data += chunk
