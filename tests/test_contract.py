"""The contract every backend keeps, checked the way a user would: run code, read what came back.

Each test runs once per backend the host can run (the ``runtime`` fixture is parametrized); a backend
this host cannot run is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from airlock import (
    CodeTooLarge,
    EmptyCode,
    ExecutionResult,
    FileOperationError,
    OutputChunk,
    PathOutsideWorkspace,
    Runtime,
    Sandbox,
    SandboxFileNotFound,
    SandboxState,
    SandboxStateError,
    Settings,
    UnknownLanguage,
)
from airlock.sandbox import DEFAULT_CONTEXT, OutputCallback

SandboxFactory = Callable[..., Awaitable[Sandbox]]

#: Generous bounds against a hang; no test asserts on how fast anything is.
HANG_GUARD_S = 30


def on_first_output() -> tuple[asyncio.Event, OutputCallback]:
    """An event set by the first output chunk, and the callback to pass as ``on_output``."""
    event = asyncio.Event()
    return event, lambda _chunk: event.set()


def error_name(result: ExecutionResult) -> str | None:
    return result.error.name if result.error is not None else None


async def host_path_exists(path: str | Path) -> bool:
    return await asyncio.to_thread(Path(path).exists)


def numbered_lines(count: int) -> str:
    """Output whose every part differs, so a misplaced or lost piece shows: 8 bytes per line."""
    return "".join(f"{i:07d}\n" for i in range(count))


def write_numbered_lines(count: int) -> str:
    """Python code that prints ``numbered_lines(count)``."""
    return f"import sys; sys.stdout.write(''.join(f'{{i:07d}}\\n' for i in range({count})))"


# -- every language ----------------------------------------------------------------------------------
HELLO_AND_EXIT_3 = {
    "python": "print('hello', 6 * 7)\nraise SystemExit(3)",
    "javascript": "console.log('hello', 6 * 7); process.exitCode = 3;",
    "bash": "echo hello $((6 * 7)); exit 3",
    "rust": 'fn main() { println!("hello {}", 6 * 7); std::process::exit(3); }',
    "go": 'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\n'
    'func main() {\n\tfmt.Println("hello", 6*7)\n\tos.Exit(3)\n}\n',
}
COMPILED = ("rust", "go")


@pytest.mark.parametrize(
    "language",
    [pytest.param(name, marks=pytest.mark.slow) if name in COMPILED else name for name in HELLO_AND_EXIT_3],
)
async def test_each_language_gives_its_stdout_and_exit_code(sandbox: Sandbox, language: str) -> None:
    result = await sandbox.exec(HELLO_AND_EXIT_3[language], language, context=None)
    assert (result.stdout, result.exit_code) == ("hello 42\n", 3)
    assert result.language == language


async def test_run_command_passes_argv_without_a_shell(sandbox: Sandbox) -> None:
    result = await sandbox.run_command(["printf", "%s|", "a b", "$HOME", "*"])
    assert (result.stdout, result.exit_code) == ("a b|$HOME|*|", 0)
    assert (await sandbox.run_command(["sh", "-c", "exit 4"])).exit_code == 4


@pytest.mark.slow
async def test_identical_rust_code_is_compiled_once(sandbox: Sandbox) -> None:
    code = 'fn main() { println!("cached"); }'
    first = await sandbox.exec(code, "rust")
    second = await sandbox.exec(code, "rust")
    assert first.stdout == second.stdout == "cached\n"
    assert first.metadata["compile_cached"] is False
    assert second.metadata["compile_cached"] is True


# -- REPL contexts -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "setup", "check", "expected"),
    [
        ("python", "x = 41", "print(x + 1)", "42\n"),
        ("javascript", "globalThis.y = 5; var z = 6;", "console.log(y + z)", "11\n"),
        ("bash", "cd /tmp; greeting=hi", 'pwd; echo "$greeting"', "/tmp\nhi\n"),
    ],
)
async def test_state_persists_in_the_default_context(
    sandbox: Sandbox, language: str, setup: str, check: str, expected: str
) -> None:
    assert (await sandbox.exec(setup, language)).exit_code == 0
    result = await sandbox.exec(check, language)
    assert (result.stdout, result.exit_code) == (expected, 0)


async def test_no_context_runs_fresh(sandbox: Sandbox) -> None:
    await sandbox.exec("x = 41")
    result = await sandbox.exec("print(x)", context=None)
    assert result.exit_code == 1
    assert error_name(result) == "NameError"


@pytest.mark.parametrize(
    ("language", "given", "check"),
    [
        (
            "python",
            "import os; os.environ['MINE'] = 'kept'; print(os.environ.get('GIVEN'))",
            "import os; print(os.environ.get('GIVEN'), os.environ.get('MINE'))",
        ),
        (
            "javascript",
            "process.env.MINE = 'kept'; console.log(process.env.GIVEN)",
            "console.log(String(process.env.GIVEN), process.env.MINE)",
        ),
        ("bash", "export MINE=kept; echo $GIVEN", 'echo "${GIVEN-None}" "$MINE"'),
    ],
)
async def test_an_exec_s_env_holds_only_for_that_exec_in_a_context(
    sandbox: Sandbox, language: str, given: str, check: str
) -> None:
    """A secret or a bridge token given to one exec is gone from the REPL before the next one; the
    context's own changes to other variables stay."""
    assert (await sandbox.exec(given, language, env={"GIVEN": "s3cret"})).stdout == "s3cret\n"
    result = await sandbox.exec(check, language)
    expected = "undefined kept\n" if language == "javascript" else "None kept\n"
    assert (result.stdout, result.exit_code) == (expected, 0)


async def test_named_contexts_are_independent(sandbox: Sandbox) -> None:
    await sandbox.exec("x = 'a'", context="a")
    await sandbox.exec("x = 'b'", context="b")
    assert (await sandbox.exec("print(x)", context="a")).stdout == "a\n"
    assert (await sandbox.exec("print(x)", context="b")).stdout == "b\n"


async def test_reset_context_drops_state(sandbox: Sandbox) -> None:
    for _ in range(10):  # the exec right after a reset must get a fresh context, every time
        await sandbox.exec("x = 41")
        assert await sandbox.reset_context() is True
        result = await sandbox.exec("print('x' in globals())")
        assert (result.stdout, result.exit_code) == ("False\n", 0)


# -- failures of user code are data -------------------------------------------------------------------
@pytest.mark.parametrize("context", [DEFAULT_CONTEXT, None])
async def test_python_exception_is_data(sandbox: Sandbox, context: str | None) -> None:
    result = await sandbox.exec("x = 1\n1 / 0\n", context=context)
    assert result.exit_code == 1
    assert result.error is not None
    assert result.error.name == "ZeroDivisionError"
    assert "line 2" in result.error.traceback
    assert "ZeroDivisionError" in result.stderr


async def test_javascript_exception_is_data(sandbox: Sandbox) -> None:
    result = await sandbox.exec('throw new TypeError("bad")', "javascript")
    assert result.exit_code == 1
    assert result.error is not None
    assert (result.error.name, result.error.value) == ("TypeError", "bad")


async def test_python_syntax_error_is_data(sandbox: Sandbox) -> None:
    result = await sandbox.exec("def f(:\n    pass")
    assert result.exit_code == 1
    assert error_name(result) == "SyntaxError"


async def test_sys_exit_code_passes_through(sandbox: Sandbox) -> None:
    result = await sandbox.exec("import sys; sys.exit(3)", context=None)
    assert (result.exit_code, result.error) == (3, None)


async def test_bash_exit_ends_its_context(sandbox: Sandbox) -> None:
    await sandbox.exec("v=1", "bash")
    result = await sandbox.exec("exit 3", "bash")
    assert result.exit_code == 3
    assert result.metadata.get("context_lost") is True
    after = await sandbox.exec('echo "[${v:-}]"', "bash")
    assert (after.stdout, after.exit_code) == ("[]\n", 0)


# -- stdin, env, cwd ----------------------------------------------------------------------------------
STDIN_READERS = {
    "python": "import sys; print(sys.stdin.read().upper())",
    "bash": 'read -r line; echo "${line^^}"',
}


@pytest.mark.parametrize("data", [b"abc\n", "abc\n"], ids=["bytes", "str"])
@pytest.mark.parametrize("context", [DEFAULT_CONTEXT, None], ids=["repl", "fresh"])
@pytest.mark.parametrize("language", list(STDIN_READERS))
async def test_stdin_reaches_the_code(sandbox: Sandbox, language: str, context: str | None, data: bytes | str) -> None:
    result = await sandbox.exec(STDIN_READERS[language], language, stdin=data, context=context)
    assert result.stdout.strip() == "ABC"
    assert result.exit_code == 0


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("python", "import os; print(os.environ['GREETING'])"),
        ("javascript", "console.log(process.env.GREETING)"),
        ("bash", 'echo "$GREETING"'),
    ],
)
async def test_env_vars_are_visible(sandbox: Sandbox, language: str, code: str) -> None:
    result = await sandbox.exec(code, language, env={"GREETING": "hi there"})
    assert (result.stdout, result.exit_code) == ("hi there\n", 0)


@pytest.mark.parametrize("context", [DEFAULT_CONTEXT, None])
async def test_cwd_is_relative_to_the_workspace(sandbox: Sandbox, context: str | None) -> None:
    await sandbox.make_dir("sub/dir")
    await sandbox.write_file("sub/dir/data.txt", "inside")
    code = "import os; print(os.getcwd()); print(open('data.txt').read())"
    result = await sandbox.exec(code, cwd="sub/dir", context=context)
    cwd, data = result.stdout.splitlines()
    assert cwd.endswith("/sub/dir")
    assert data == "inside"


async def test_missing_cwd_raises_and_runs_nothing(sandbox: Sandbox) -> None:
    with pytest.raises(FileOperationError):
        await sandbox.exec("open('ran', 'w').close()", cwd="no/such/dir")
    assert "ran" not in {info.name for info in await sandbox.list_files()}


# -- output caps ----------------------------------------------------------------------------------------
async def test_large_stdout_is_capped_and_kept_whole_in_a_file(sandbox: Sandbox) -> None:
    full = numbered_lines(125_000)  # 1 MB
    result = await sandbox.exec(write_numbered_lines(125_000), max_output_bytes=1000)
    assert result.stdout == full[:1000]
    assert result.output_truncated is True
    assert result.output_file_path is not None
    assert await sandbox.read_file(result.output_file_path) == full.encode()


async def test_stderr_is_capped_independently(sandbox: Sandbox) -> None:
    err = numbered_lines(1000)
    code = f"import sys; sys.stdout.write('o' * 500); sys.stderr.write({err!r})"
    result = await sandbox.exec(code, max_output_bytes=1000)
    assert result.stdout == "o" * 500
    assert result.stderr == err[:1000]
    assert result.output_truncated is True
    assert set(result.output_files) == {"stderr"}
    assert result.output_file_path == result.output_files["stderr"]
    assert await sandbox.read_file(result.output_files["stderr"]) == err.encode()


# -- files ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [bytes(range(256)), os.urandom(5 * 1024 * 1024)], ids=["all-bytes", "5MB"])
async def test_binary_file_round_trips(sandbox: Sandbox, data: bytes) -> None:
    assert await sandbox.write_file("blob.bin", data) == len(data)
    assert await sandbox.read_file("blob.bin") == data


async def test_list_files_shows_name_type_and_size(sandbox: Sandbox) -> None:
    await sandbox.write_file("a.txt", "hello")
    await sandbox.make_dir("d")
    entries = {info.name: (info.type, info.size) for info in await sandbox.list_files()}
    assert entries["a.txt"] == ("file", 5)
    assert entries["d"][0] == "dir"


async def test_delete_file_removes_it(sandbox: Sandbox) -> None:
    await sandbox.write_file("gone.txt", "x")
    await sandbox.delete_file("gone.txt")
    assert "gone.txt" not in {info.name for info in await sandbox.list_files()}
    with pytest.raises(SandboxFileNotFound):
        await sandbox.read_file("gone.txt")


async def test_reading_a_missing_file_raises_file_not_found(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxFileNotFound) as info:
        await sandbox.read_file("missing.txt")
    assert isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize("path", ["/etc/passwd", "../../etc/passwd"])
async def test_reading_outside_the_workspace_is_refused(sandbox: Sandbox, path: str) -> None:
    with pytest.raises(PathOutsideWorkspace) as info:
        await sandbox.read_file(path)
    assert isinstance(info.value, PermissionError)


async def test_writing_outside_the_workspace_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(PathOutsideWorkspace):
        await sandbox.write_file("../escape.txt", "x")
    assert not await host_path_exists(Path(sandbox.workspace_path).parent / "escape.txt")


async def test_a_symlink_out_of_the_workspace_is_refused(sandbox: Sandbox) -> None:
    assert (await sandbox.exec("import os; os.symlink('/etc', 'etc-link')")).exit_code == 0
    with pytest.raises(PathOutsideWorkspace):
        await sandbox.read_file("etc-link/passwd")


async def test_files_are_shared_between_the_host_and_the_code(sandbox: Sandbox) -> None:
    await sandbox.write_file("from-host.txt", "host says hi")
    result = await sandbox.exec("print(open('from-host.txt').read())\nopen('from-code.txt', 'w').write('code says hi')")
    assert result.stdout == "host says hi\n"
    assert await sandbox.read_file("from-code.txt") == b"code says hi"


# -- concurrency ----------------------------------------------------------------------------------------
async def test_execs_on_one_sandbox_run_at_the_same_time(sandbox: Sandbox) -> None:
    waiter = "echo waiting; for _ in $(seq 200); do [ -e flag ] && { echo seen; exit 0; }; sleep 0.1; done; exit 1"
    waiting, on_output = on_first_output()

    async def create_flag() -> ExecutionResult:
        await waiting.wait()
        return await sandbox.exec("open('flag', 'w').close()", context=None)

    waited, created = await asyncio.gather(
        sandbox.exec(waiter, "bash", context=None, on_output=on_output), create_flag()
    )
    assert created.exit_code == 0
    assert (waited.stdout, waited.exit_code) == ("waiting\nseen\n", 0)


async def test_parallel_fresh_execs_keep_their_own_output(sandbox: Sandbox) -> None:
    results = await asyncio.gather(*(sandbox.exec(f"print({i} * 111)", context=None) for i in range(6)))
    assert [r.stdout for r in results] == [f"{i * 111}\n" for i in range(6)]


# -- timeouts -------------------------------------------------------------------------------------------
async def test_timeout_keeps_the_output_so_far(sandbox: Sandbox) -> None:
    code = 'print("before", flush=True); import time; time.sleep(60)'
    result = await sandbox.exec(code, context=None, timeout_ms=500)
    assert (result.timed_out, result.exit_code, result.stdout) == (True, -1, "before\n")


async def test_timeout_in_a_context_loses_it_and_the_next_exec_starts_fresh(sandbox: Sandbox) -> None:
    await sandbox.exec("x = 41")
    result = await sandbox.exec("import time; time.sleep(60)", timeout_ms=500)
    assert result.timed_out is True
    assert result.metadata.get("context_lost") is True
    after = await sandbox.exec("print('x' in globals())")
    assert (after.stdout, after.exit_code, after.timed_out) == ("False\n", 0, False)


async def test_infinite_loop_times_out(sandbox: Sandbox) -> None:
    result = await sandbox.exec("while True: pass", context=None, timeout_ms=500)
    assert (result.timed_out, result.exit_code) == (True, -1)


SLEEPER = "313.5"  # an unusual duration: on the process backend /proc shows the host's processes too
DETACH = f"""
import os, subprocess
subprocess.Popen(["sleep", "{SLEEPER}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{SLEEPER}"])
    os._exit(0)
print("detached", flush=True)
while True:
    pass
"""
COUNT_SLEEPERS = f"""
import os, time

def sleepers():
    found = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{{pid}}/cmdline", "rb") as cmdline:
                found += cmdline.read() == b"sleep\\x00{SLEEPER}\\x00"
        except OSError:
            pass
    return found

want = int(os.environ["WANT"])
for _ in range(100):
    if sleepers() == want:
        break
    time.sleep(0.05)
print(sleepers())
"""


async def count_sleepers(sandbox: Sandbox, want: int) -> int:
    """How many ``sleep 313.5`` the sandbox can see, after waiting a little for ``want`` of them."""
    result = await sandbox.exec(COUNT_SLEEPERS, context=None, env={"WANT": str(want)})
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


async def test_timeout_kills_detached_children(sandbox: Sandbox) -> None:
    detached, on_output = on_first_output()
    task = asyncio.create_task(sandbox.exec(DETACH, context=None, timeout_ms=4000, on_output=on_output))
    await detached.wait()
    assert await count_sleepers(sandbox, want=2) == 2  # the scan does see them
    result = await task
    assert result.timed_out is True
    assert await count_sleepers(sandbox, want=0) == 0


# -- streaming ------------------------------------------------------------------------------------------
STREAMED = "import sys\nfor i in range(5):\n    print(i, flush=True)\n    print(-i, file=sys.stderr, flush=True)"


async def test_on_output_receives_every_chunk(sandbox: Sandbox) -> None:
    chunks: list[OutputChunk] = []
    result = await sandbox.exec(STREAMED, on_output=chunks.append)
    assert all(isinstance(chunk, OutputChunk) for chunk in chunks)
    assert "".join(c.data for c in chunks if c.stream == "stdout") == result.stdout == "0\n1\n2\n3\n4\n"
    assert "".join(c.data for c in chunks if c.stream == "stderr") == result.stderr


async def test_stream_yields_chunks_then_the_result(sandbox: Sandbox) -> None:
    items = [item async for item in sandbox.stream(STREAMED)]
    *chunks, result = items
    assert isinstance(result, ExecutionResult)
    assert all(isinstance(chunk, OutputChunk) for chunk in chunks)
    assert "".join(c.data for c in chunks if isinstance(c, OutputChunk) and c.stream == "stdout") == result.stdout
    assert result.stdout == "0\n1\n2\n3\n4\n"


# -- cancellation ---------------------------------------------------------------------------------------
async def test_cancelled_exec_is_killed_and_the_sandbox_keeps_working(sandbox: Sandbox) -> None:
    code = f"import subprocess; subprocess.run(['sleep', '{SLEEPER}'])"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sandbox.exec(code, context=None), 0.5)
    assert await count_sleepers(sandbox, want=0) == 0
    result = await sandbox.exec("print('still here')")
    assert (result.stdout, result.exit_code) == ("still here\n", 0)


# -- lifecycle ------------------------------------------------------------------------------------------
async def test_stop_and_start_keep_the_workspace(make_sandbox: SandboxFactory) -> None:
    sb = await make_sandbox(start=False)
    assert sb.state is SandboxState.CREATED
    await sb.start()
    assert sb.state is SandboxState.RUNNING
    await sb.write_file("keep.txt", "kept")
    await sb.stop()
    assert sb.state is SandboxState.STOPPED
    await sb.start()
    assert sb.state is SandboxState.RUNNING
    assert await sb.read_file("keep.txt") == b"kept"
    assert (await sb.exec("print(open('keep.txt').read())")).stdout == "kept\n"


async def test_exec_on_a_stopped_sandbox_raises(sandbox: Sandbox) -> None:
    await sandbox.stop()
    with pytest.raises(SandboxStateError):
        await sandbox.exec("print(1)")


async def test_start_after_destroy_raises_and_destroy_twice_is_fine(sandbox: Sandbox) -> None:
    await sandbox.destroy()
    await sandbox.destroy()
    assert sandbox.state is SandboxState.DESTROYED
    with pytest.raises(SandboxStateError):
        await sandbox.start()
    assert not await host_path_exists(sandbox.workspace_path)


async def test_async_with_destroys_on_exception(runtime: Runtime) -> None:
    used: list[Sandbox] = []

    async def fail_inside() -> None:
        async with runtime.sandbox(language="python") as sb:
            used.append(sb)
            await sb.exec("x = 1")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_inside()
    assert [sb.state for sb in used] == [SandboxState.DESTROYED]
    assert runtime.sandboxes() == []


async def test_agent_death_is_reported_and_start_recovers(sandbox: Sandbox) -> None:
    await sandbox.write_file("keep.txt", "kept")
    running, on_output = on_first_output()
    code = "print('running', flush=True); import time; time.sleep(60)"
    task = asyncio.create_task(sandbox.exec(code, context=None, on_output=on_output))
    await running.wait()
    assert sandbox._env.process is not None
    os.kill(sandbox._env.process.pid, signal.SIGKILL)
    result = await asyncio.wait_for(task, HANG_GUARD_S)
    assert result.sandbox_died is True
    assert error_name(result) == "SandboxDied"
    assert result.success is False
    assert sandbox.state is SandboxState.STOPPED
    await sandbox.start()
    assert await sandbox.read_file("keep.txt") == b"kept"
    assert (await sandbox.exec("print('back')")).stdout == "back\n"


# -- bad input ------------------------------------------------------------------------------------------
async def test_unknown_language_raises(sandbox: Sandbox) -> None:
    with pytest.raises(UnknownLanguage) as info:
        await sandbox.exec("DISPLAY 'HI'.", "cobol")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("code", ["", "  \n\t"])
async def test_empty_code_raises(sandbox: Sandbox, code: str) -> None:
    with pytest.raises(EmptyCode):
        await sandbox.exec(code)


async def test_code_over_the_limit_raises(settings: Settings, backend_name: str) -> None:
    small = settings.model_copy(update={"max_code_bytes": 100, "backend": backend_name})
    async with Runtime(small) as rt, rt.sandbox() as sb:
        with pytest.raises(CodeTooLarge):
            await sb.exec("print('ran')  # " + "x" * 100)
        assert (await sb.exec("print('small')")).stdout == "small\n"


async def test_missing_program_gives_exit_code_127(sandbox: Sandbox) -> None:
    result = await sandbox.run_command(["airlock-no-such-program"])
    assert result.exit_code == 127
    assert error_name(result) == "SpawnError"


# -- one-shot runs ---------------------------------------------------------------------------------------
async def test_runs_reuse_a_reset_sandbox_that_keeps_nothing_of_the_last_run(runtime: Runtime) -> None:
    first = await runtime.run(
        "import subprocess; subprocess.Popen(['sleep', '313.5']); open('left.txt', 'w').write('x'); print(6*7)",
        env_vars={"SECRET": "s"},
    )
    assert (first.stdout, first.exit_code) == ("42\n", 0)
    second = await runtime.run(
        "import os\n"
        "def cmdline(pid):\n"
        "    try:\n"
        "        return open(f'/proc/{pid}/cmdline').read()\n"
        "    except OSError:\n"
        "        return ''\n"
        "sleeping = any('313.5' in cmdline(p) for p in os.listdir('/proc') if p.isdigit())\n"
        "print(os.listdir('.'), os.environ.get('SECRET'), sleeping)"
    )
    assert second.sandbox_id == first.sandbox_id, "the second run should reuse the reset sandbox"
    assert (second.stdout, second.exit_code) == ("[] None False\n", 0)
    assert runtime.sandboxes() == [], "pooled sandboxes are the pool's, not the runtime's own"


async def test_closing_the_runtime_destroys_its_pooled_sandboxes(settings: Settings, backend_name: str) -> None:
    async with Runtime(settings.model_copy(update={"backend": backend_name})) as runtime:
        result = await runtime.run("print(1)")
        assert result.sandbox_id is not None
        assert await host_path_exists(runtime.settings.sandboxes_dir / result.sandbox_id)
    assert not await host_path_exists(runtime.settings.sandboxes_dir / result.sandbox_id)


async def test_without_pools_each_run_has_a_sandbox_of_its_own(settings: Settings, backend_name: str) -> None:
    async with Runtime(settings.model_copy(update={"backend": backend_name, "use_pools": False})) as runtime:
        first, second = await runtime.run("print(1)"), await runtime.run("print(2)")
        assert (first.stdout, second.stdout) == ("1\n", "2\n")
        assert first.sandbox_id != second.sandbox_id
        for result in (first, second):
            assert result.sandbox_id is not None
            assert not await host_path_exists(runtime.settings.sandboxes_dir / result.sandbox_id)
        assert list(runtime.pools) == []


async def test_run_keeps_spilled_output_on_the_host(runtime: Runtime) -> None:
    full = numbered_lines(10_000)
    result = await runtime.run(write_numbered_lines(10_000), max_output_bytes=1000)
    assert result.stdout == full[:1000]
    assert result.output_file_path is not None
    assert await asyncio.to_thread(Path(result.output_file_path).read_text) == full
    assert runtime.sandboxes() == []


@pytest.mark.parametrize(
    ("language", "own", "show"),
    [
        ("python", "import os; os.environ['GIVEN'] = 'mine'", "import os; print(os.environ['GIVEN'])"),
        ("javascript", "process.env.GIVEN = 'mine'", "console.log(process.env.GIVEN)"),
        ("bash", "export GIVEN=mine", 'echo "$GIVEN"'),
    ],
)
async def test_a_context_s_own_variable_comes_back_after_an_exec_s_env(
    sandbox: Sandbox, language: str, own: str, show: str
) -> None:
    assert (await sandbox.exec(own, language)).exit_code == 0
    assert (await sandbox.exec(show, language, env={"GIVEN": "s3cret"})).stdout == "s3cret\n"
    assert (await sandbox.exec(show, language)).stdout == "mine\n"
