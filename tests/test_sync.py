"""The blocking facade: ``SyncRuntime`` and ``SyncSandbox``, over every backend this host can run."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlock import SandboxFileNotFound, SandboxState, SandboxStateError, Settings, SyncRuntime


@pytest.fixture
def sync_settings(settings: Settings, backend_name: str) -> Settings:
    return settings.model_copy(update={"backend": backend_name})


def test_run(sync_settings: Settings) -> None:
    with SyncRuntime(sync_settings) as rt:
        result = rt.run("print(6 * 7)")

    assert result.stdout == "42\n"
    assert result.exit_code == 0
    assert result.success


def test_run_reports_user_errors_as_data(sync_settings: Settings) -> None:
    with SyncRuntime(sync_settings) as rt:
        result = rt.run("1 / 0")

    assert result.exit_code != 0
    assert result.error is not None
    assert result.error.name == "ZeroDivisionError"


def test_state_persists_across_exec_calls(sync_settings: Settings) -> None:
    with SyncRuntime(sync_settings) as rt, rt.sandbox(language="python") as sb:
        sb.exec("x = 41")
        result = sb.exec("print(x + 1)")

    assert result.stdout == "42\n"


def test_files(sync_settings: Settings) -> None:
    with SyncRuntime(sync_settings) as rt, rt.sandbox(language="python") as sb:
        size = sb.write_file("notes/data.txt", "written by the host\n")
        read_back = sb.read_file("notes/data.txt")
        seen = sb.exec("print(open('notes/data.txt').read().upper(), end='')")
        sb.exec("open('made.bin', 'wb').write(bytes(range(256)))")
        made = sb.read_file("made.bin")

    assert size == len("written by the host\n")
    assert read_back == b"written by the host\n"
    assert seen.stdout == "WRITTEN BY THE HOST\n"
    assert made == bytes(range(256))


def test_errors_of_the_async_api_reach_the_caller(sync_settings: Settings) -> None:
    with SyncRuntime(sync_settings) as rt, rt.sandbox(language="python") as sb, pytest.raises(SandboxFileNotFound):
        sb.read_file("does-not-exist.txt")


def test_the_sandbox_is_destroyed_after_its_block(sync_settings: Settings) -> None:
    with SyncRuntime(sync_settings) as rt:
        with rt.sandbox(language="python") as sb:
            assert sb.state is SandboxState.RUNNING
            workspace = Path(sb.workspace_path)
            assert workspace.is_dir()

        assert sb.state is SandboxState.DESTROYED
        assert not workspace.exists()
        with pytest.raises(SandboxStateError):
            sb.exec("print(1)")


def test_the_sandbox_is_destroyed_when_leaving_by_exception(sync_settings: Settings) -> None:
    with SyncRuntime(sync_settings) as rt:
        with pytest.raises(KeyError), rt.sandbox(language="python") as sb:
            raise KeyError("the caller's own error")

        assert sb.state is SandboxState.DESTROYED


def test_closing_the_runtime_destroys_its_sandboxes(sync_settings: Settings) -> None:
    rt = SyncRuntime(sync_settings)
    sb = rt.create_sandbox(language="python")
    workspace = Path(sb.workspace_path)

    rt.close()
    rt.close()  # a second close is a no-op

    assert sb.state is SandboxState.DESTROYED
    assert not workspace.exists()


@pytest.mark.filterwarnings("ignore:coroutine 'Runtime.run' was never awaited:RuntimeWarning")
def test_a_closed_runtime_refuses_work(sync_settings: Settings) -> None:
    rt = SyncRuntime(sync_settings)
    rt.close()

    try:
        rt.run("print(1)")
    except Exception as exc:
        # Drop the traceback here, so that a coroutine it may hold is finalised inside this test.
        refused: Exception | None = exc.with_traceback(None)
    else:
        refused = None

    assert isinstance(refused, SandboxStateError), f"expected SandboxStateError, got {refused!r}"
