"""The ``airlock`` command, run as a real subprocess against real sandboxes.

Every run gets a private home, no config file and this session's sandbox root; after every run
the sandbox root holds nothing new (the sandbox's directory and workspace are gone).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from airlock.languages import LANGUAGES

Cli = Callable[..., subprocess.CompletedProcess[str]]

BROKEN_BWRAP = {"AIRLOCK_NAMESPACE__BWRAP": "/nonexistent/bwrap"}


@pytest.fixture
def cli(tmp_path: Path, sandbox_root: Path) -> Cli:
    """Run ``python -m airlock ARGS`` in ``tmp_path``; check that it left nothing in the sandbox root."""
    base_env = {key: value for key, value in os.environ.items() if not key.startswith("AIRLOCK_")}
    base_env |= {
        "AIRLOCK_HOME": str(tmp_path / "home"),
        "AIRLOCK_SANDBOX_ROOT": str(sandbox_root),
        "AIRLOCK_CONFIG": str(tmp_path / "no-config.toml"),
    }

    def run(
        *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        before = set(os.listdir(sandbox_root))
        completed = subprocess.run(
            [sys.executable, "-m", "airlock", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=base_env | (env or {}),
            cwd=tmp_path,
            timeout=90,
        )
        left = set(os.listdir(sandbox_root)) - before
        assert not left, f"`airlock {' '.join(args)}` left {sorted(left)} in the sandbox root"
        return completed

    return run


def assert_one_line_error(completed: subprocess.CompletedProcess[str], code: int) -> None:
    assert completed.returncode == code, completed.stderr
    assert completed.stdout == ""
    assert completed.stderr.startswith("airlock:"), completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr


# -- running code ------------------------------------------------------------------------------------


def test_run_python_in_the_namespace_backend_by_default(cli: Cli, namespace_backend: str) -> None:
    completed = cli("run", "-l", "python", "-c", 'import os; print(os.getpid(), open("/etc/hostname").read())')

    assert completed.returncode == 0, completed.stderr
    pid, hostname = completed.stdout.split()
    assert int(pid) > 0
    assert hostname == "airlock"


def test_run_a_file_takes_the_language_from_its_suffix(cli: Cli, namespace_backend: str, tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed (apt-get install nodejs)")
    (tmp_path / "script.js").write_text('console.log("from js", 6 * 7)\n')

    completed = cli("run", "script.js")

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "from js 42\n"


def test_run_code_from_stdin_passes_its_exit_code_through(cli: Cli, namespace_backend: str) -> None:
    completed = cli("run", "-l", "bash", "-", stdin="echo hi; exit 3\n")

    assert completed.returncode == 3
    assert completed.stdout == "hi\n"


def test_run_killed_by_a_signal_exits_128_plus_the_signal(cli: Cli, namespace_backend: str) -> None:
    completed = cli("run", "-l", "python", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")

    assert completed.returncode == 128 + 9


def test_json_output_is_the_whole_result(cli: Cli, namespace_backend: str) -> None:
    completed = cli("run", "--json", "-l", "python", "-c", "print(6 * 7)")

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)  # nothing but the JSON: live output is not echoed
    assert result["stdout"] == "42\n"
    assert result["exit_code"] == 0
    assert result["language"] == "python"


def test_json_output_reports_an_exception_as_data(cli: Cli, namespace_backend: str) -> None:
    completed = cli("run", "--json", "-l", "python", "-c", "raise ValueError('boom')")

    assert completed.returncode == 1
    result = json.loads(completed.stdout)
    assert result["exit_code"] == 1
    assert result["error"]["name"] == "ValueError"
    assert result["error"]["value"] == "boom"


def test_timeout_exits_124_and_keeps_what_was_printed_before(cli: Cli, namespace_backend: str) -> None:
    code = "import time; print('before', flush=True); time.sleep(60); print('after')"

    completed = cli("run", "--timeout", "0.5", "-l", "python", "-c", code)

    assert completed.returncode == 124
    assert completed.stdout == "before\n"
    assert "timed out" in completed.stderr


def test_env_assignments_are_visible_to_the_code(cli: Cli, namespace_backend: str) -> None:
    completed = cli("run", "--env", "K=V", "--env", "EQ=a=b", "-l", "bash", "-c", 'echo "$K $EQ"')

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "V a=b\n"


def test_stdin_file_is_fed_to_the_code(cli: Cli, namespace_backend: str, tmp_path: Path) -> None:
    (tmp_path / "input.txt").write_text("fed through stdin\n")

    completed = cli("run", "--stdin", "input.txt", "-l", "python", "-c", "import sys; print(sys.stdin.read().upper())")

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "FED THROUGH STDIN\n\n"


def test_process_backend_runs_in_a_workspace_that_is_removed_afterwards(cli: Cli, sandbox_root: Path) -> None:
    completed = cli("run", "--backend", "process", "-l", "python", "-c", "import os; print(os.getcwd())")

    assert completed.returncode == 0, completed.stderr
    workspace = Path(completed.stdout.strip())
    assert workspace.is_relative_to(sandbox_root)
    assert workspace.name == "workspace"
    assert not workspace.parent.exists()


def test_command_runs_an_argv_without_a_shell(cli: Cli, namespace_backend: str) -> None:
    listing = cli("run", "-l", "command", "ls", "-la")
    literal = cli("run", "-l", "command", "echo", "$HOME", ";", "*")

    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.startswith("total ")
    assert literal.returncode == 0, literal.stderr
    assert literal.stdout == "$HOME ; *\n"


def test_large_output_is_streamed_whole(cli: Cli, namespace_backend: str) -> None:
    lines = [f"{i:07d}" for i in range(25_000)]  # 200 KB, past the 64 KiB inline cap
    code = "import sys; sys.stdout.write(''.join(f'{i:07d}\\n' for i in range(25_000)))"

    completed = cli("run", "-l", "python", "-c", code)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == lines
    kept = re.search(r"output past the inline cap is in (\S+)", completed.stderr)
    assert kept is not None, completed.stderr
    assert Path(kept.group(1)).read_text().splitlines() == lines


# -- bad usage and broken hosts ------------------------------------------------------------------------

USAGE_ERRORS = {
    "unknown-language": (["run", "-l", "cobol", "-c", "DISPLAY 'HI'"], {}),
    "unknown-suffix": (["run", "notes.txt"], {}),
    "empty-code": (["run", "-l", "python", "-c", ""], {}),
    "blank-code": (["run", "-l", "python", "-c", "  \n"], {}),
    "missing-file": (["run", "missing.py"], {}),
    "bad-env": (["run", "--env", "NOEQUALS", "-l", "bash", "-c", "echo hi"], {}),
    "code-too-large": (["run", "-l", "python", "-c", "print('more than ten bytes')"], {"AIRLOCK_MAX_CODE_BYTES": "10"}),
    "no-code": (["run"], {}),
    "no-language": (["run", "-c", "print(1)"], {}),
    "command-without-argv": (["run", "-l", "command"], {}),
}


@pytest.mark.parametrize(("args", "env"), USAGE_ERRORS.values(), ids=USAGE_ERRORS.keys())
def test_usage_error_exits_2_with_one_line(cli: Cli, tmp_path: Path, args: list[str], env: dict[str, str]) -> None:
    (tmp_path / "notes.txt").write_text("not code\n")

    assert_one_line_error(cli(*args, env=env), 2)


@pytest.mark.parametrize("case", ["empty-code", "code-too-large"])
def test_usage_errors_are_found_before_a_sandbox_is_needed(cli: Cli, case: str) -> None:
    """Bad code is bad usage whatever the host: it is not reported as a sandbox failure."""
    args, env = USAGE_ERRORS[case]

    assert_one_line_error(cli(*args, env=env | BROKEN_BWRAP), 2)


def test_missing_bwrap_exits_125_and_says_to_install_bubblewrap(cli: Cli) -> None:
    completed = cli("run", "-l", "python", "-c", "print(1)", env=BROKEN_BWRAP)

    assert_one_line_error(completed, 125)
    assert re.search(r"install.*bubblewrap", completed.stderr), completed.stderr


# -- doctor and languages ------------------------------------------------------------------------------


def test_doctor_names_the_backends_and_the_languages(cli: Cli, namespace_backend: str) -> None:
    completed = cli("doctor")

    assert completed.returncode == 0, completed.stderr
    for name in ("process", "namespace", *LANGUAGES):
        assert re.search(rf"\b{name}\b", completed.stdout), f"{name} missing from:\n{completed.stdout}"


def test_doctor_json(cli: Cli, namespace_backend: str) -> None:
    completed = cli("doctor", "--json")

    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["ok"] is True
    assert {b["name"] for b in report["backends"]} == {"process", "namespace"}
    assert {lang["name"] for lang in report["languages"]} == set(LANGUAGES)


def test_doctor_without_bwrap_fails_and_says_what_to_install(cli: Cli) -> None:
    completed = cli("doctor", "--json", env=BROKEN_BWRAP)

    assert completed.returncode == 1
    report = json.loads(completed.stdout)
    assert report["ok"] is False
    namespace = next(b for b in report["backends"] if b["name"] == "namespace")
    assert namespace["ok"] is False
    assert "bubblewrap" in namespace["hint"]


def test_languages_lists_every_language(cli: Cli) -> None:
    completed = cli("languages")

    assert completed.returncode == 0, completed.stderr
    listed = [line.split()[0] for line in completed.stdout.splitlines()]
    assert listed == ["python", "javascript", "bash", "rust", "go"]


def test_languages_json(cli: Cli) -> None:
    completed = cli("languages", "--json")

    assert completed.returncode == 0, completed.stderr
    rows = {row["name"]: row for row in json.loads(completed.stdout)}
    assert set(rows) == {"python", "javascript", "bash", "rust", "go"}
    assert rows["python"]["repl"] is True
    assert rows["rust"]["compiled"] is True
    assert "golang" in rows["go"]["aliases"]
