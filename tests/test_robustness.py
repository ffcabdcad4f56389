"""Code that attacks the agent itself, or the caller's own mistakes: each gives a clear result or a
clear error, and the sandbox keeps answering (or is cleaned up). Runs on every backend."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from airlock import FileTooLarge, InvalidRequest, OutputChunk, SandboxLimits
from conftest import SandboxFactory


async def test_a_huge_exception_comes_back_as_data(make_sandbox: SandboxFactory) -> None:
    sb = await make_sandbox(language="python")
    result = await sb.exec('raise ValueError("x" * 200_000)', context=None, timeout_ms=20_000)
    assert not result.timed_out
    assert result.exit_code == 1
    assert result.error is not None
    assert result.error.name == "ValueError"
    assert 0 < len(result.error.value) < 200_000
    assert (await sb.exec("print('alive')")).stdout == "alive\n"


async def test_writing_on_the_bash_contexts_result_channel_resets_it(make_sandbox: SandboxFactory) -> None:
    sb = await make_sandbox(language="bash")
    result = await sb.exec("echo garbage >&63; echo after")
    assert result.error is not None
    assert result.error.name == "ContextCorrupted"
    assert result.metadata.get("context_lost") is True
    assert (await sb.exec("echo alive")).stdout == "alive\n"


async def test_writing_on_the_python_contexts_result_channel_resets_it(make_sandbox: SandboxFactory) -> None:
    sb = await make_sandbox(language="python")
    result = await sb.exec("import os; os.write(4, b'not json\\n')")
    assert result.error is not None
    assert result.error.name == "ContextCorrupted"
    assert (await sb.exec("print('alive')")).stdout == "alive\n"


async def test_code_deleting_the_agents_scratch_files_does_no_harm(make_sandbox: SandboxFactory) -> None:
    sb = await make_sandbox(language="bash")
    scratch = "/tmp/.airlock" if sb.backend == "namespace" else str(Path(sb.workspace_path).parent / "scratch")
    result = await sb.exec(f"rm -rf {scratch}/stdin; cat", stdin="in\n")
    assert result.exit_code == 0
    assert result.stdout == "in\n"
    assert (await sb.exec("echo alive")).stdout == "alive\n"


async def test_a_full_tmp_gives_a_result_and_the_context_recovers(make_sandbox: SandboxFactory) -> None:
    sb = await make_sandbox(language="bash", limits=SandboxLimits(tmpfs_mb=4))
    if sb.backend != "namespace":
        pytest.skip("only the namespace backend caps /tmp")
    filled = await sb.exec("head -c 8M /dev/zero > /tmp/fill; echo done", context=None)
    assert "No space left" in filled.stderr
    result = await sb.exec("echo one")
    assert result.error is not None
    assert result.error.name == "SpawnError"
    assert (await sb.run_command(["rm", "/tmp/fill"])).exit_code == 0  # an argv needs no scratch files
    assert (await sb.exec("echo two")).stdout == "two\n"


async def test_a_file_name_that_is_not_utf8_can_be_listed(make_sandbox: SandboxFactory) -> None:
    sb = await make_sandbox(language="python")
    await sb.exec("open(b'bad-\\xff-name', 'w').close()")
    names = [entry.name for entry in await sb.list_files()]
    assert "bad-\ufffd-name" in names


async def test_a_failing_output_callback_fails_that_exec_only(make_sandbox: SandboxFactory) -> None:
    sb = await make_sandbox(language="python")

    def explode(chunk: OutputChunk) -> None:
        raise RuntimeError("callback broke")

    with pytest.raises(RuntimeError, match="callback broke"):
        await sb.exec("print('hi')", on_output=explode)
    assert (await sb.exec("print('alive')")).stdout == "alive\n"


async def test_oversized_payloads_are_refused_before_sending(make_sandbox: SandboxFactory) -> None:
    sb = await make_sandbox(language="python", limits=SandboxLimits(max_file_bytes=1024))
    with pytest.raises(FileTooLarge):
        await sb.write_file("big", b"x" * 2048)
    with pytest.raises(InvalidRequest):
        await sb.exec("import sys; sys.stdin.read()", stdin=b"x" * 2048)
    assert not (Path(sb.workspace_path) / "big").exists()


def test_limits_past_what_one_reply_can_carry_are_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        SandboxLimits(max_file_bytes=1 << 30)


async def test_invalid_env_names_are_refused(make_sandbox: SandboxFactory) -> None:
    sb = await make_sandbox(language="bash")
    with pytest.raises(InvalidRequest):
        await sb.exec("true", env={"A;touch /workspace/pwned": "x"})
    assert not (Path(sb.workspace_path) / "pwned").exists()


async def test_sandbox_env_values_stay_out_of_command_lines(make_sandbox: SandboxFactory) -> None:
    secret = "sekrit-value-4711"
    sb = await make_sandbox(language="python", env={"API_KEY": secret})
    assert (await sb.exec("import os; print(os.environ['API_KEY'])")).stdout == f"{secret}\n"
    assert processes_showing(secret.encode()) == []


def processes_showing(needle: bytes) -> list[str]:
    """The pids whose command line, readable by every host user, contains ``needle``."""
    exposed = []
    for proc in Path("/proc").iterdir():
        try:
            if needle in (proc / "cmdline").read_bytes():
                exposed.append(proc.name)
        except OSError:
            continue
    return exposed
