"""The shared data: ULIDs, snapshot ids, execution contexts and results, capabilities, languages."""

from __future__ import annotations

import types

import pytest
from pydantic import ValidationError

import airlock.models
from airlock.errors import AirlockError, ExecutionFailed, ExecutionTimeout, InvalidRequest, UnknownLanguage
from airlock.languages import get_language, language_for_path
from airlock.models import (
    Capability,
    ExecutionContext,
    ExecutionError,
    ExecutionRequest,
    ExecutionResult,
    SnapshotId,
    new_ulid,
)

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid_milliseconds(ulid: str) -> int:
    value = 0
    for char in ulid:
        value = value * 32 + CROCKFORD.index(char)
    return value >> 80


# -- ULIDs -----------------------------------------------------------------------------------------


def test_ulid_is_26_crockford_characters() -> None:
    ulid = new_ulid()

    assert len(ulid) == 26
    assert set(ulid) <= set(CROCKFORD)
    assert ulid[0] <= "7"  # 128 bits in 130: the top two are zero


def test_ulid_encodes_its_creation_time(monkeypatch: pytest.MonkeyPatch) -> None:
    millis = 1_700_000_000_123
    monkeypatch.setattr(airlock.models, "time", types.SimpleNamespace(time_ns=lambda: millis * 1_000_000 + 999))

    assert ulid_milliseconds(new_ulid()) == millis


def test_ulids_sort_by_creation_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(1_700_000_000_000, 1_700_000_000_200))
    monkeypatch.setattr(airlock.models, "time", types.SimpleNamespace(time_ns=lambda: next(clock) * 1_000_000))

    ulids = [new_ulid() for _ in range(200)]  # the random halves would shuffle them if they counted

    assert sorted(ulids) == ulids


def test_ulids_are_unique_within_one_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(airlock.models, "time", types.SimpleNamespace(time_ns=lambda: 1_700_000_000_000_000_000))

    assert len({new_ulid() for _ in range(10_000)}) == 10_000


# -- snapshot ids and contexts -------------------------------------------------------------------------


def test_snapshot_id_str_is_name_colon_id() -> None:
    snapshot = SnapshotId(name="before-migration", session_id="s1")

    assert str(snapshot) == f"before-migration:{snapshot.id}"
    assert len(snapshot.id) == 26


def test_execution_context_defaults_match_the_seed() -> None:
    context = ExecutionContext()

    assert context.timeout_ms == 30_000
    assert context.max_output_bytes == 65_536
    assert context.capture_stdout is True
    assert context.capture_stderr is True
    assert context.recursion_depth == 0
    assert context.working_dir is None
    assert context.env_vars == {}
    assert context.cancellation_token is None
    assert context.session_token is None
    assert len(context.session_id) == 26


def test_each_context_gets_its_own_session_and_env() -> None:
    first, second = ExecutionContext(), ExecutionContext()
    first.env_vars["K"] = "V"

    assert first.session_id != second.session_id
    assert second.env_vars == {}


def test_timeout_none_means_no_limit() -> None:
    assert ExecutionContext(timeout_ms=None).timeout_ms is None


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (ExecutionContext, {"timeout": 5}),
        (ExecutionRequest, {"code": "print(1)", "lang": "python"}),
        (ExecutionResult, {"returncode": 0}),
        (SnapshotId, {"name": "n", "session_id": "s", "label": "x"}),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_extra_fields_are_rejected(model: type, fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        model(**fields)


@pytest.mark.parametrize(
    "fields", [{"timeout_ms": 0}, {"max_output_bytes": -1}, {"recursion_depth": -1}], ids=lambda f: next(iter(f))
)
def test_context_rejects_out_of_range_values(fields: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        ExecutionContext(**fields)


# -- results -----------------------------------------------------------------------------------------


def test_a_clean_exit_is_a_success() -> None:
    result = ExecutionResult(stdout="42\n")

    assert result.success
    assert result.raise_for_error() is result


@pytest.mark.parametrize(
    "fields",
    [{"exit_code": 1}, {"exit_code": -9}, {"sandbox_died": True}, {"oom_killed": True}, {"cancelled": True}],
    ids=lambda f: next(iter(f)),
)
def test_failures_are_not_a_success(fields: dict[str, object]) -> None:
    result = ExecutionResult(**fields)

    assert not result.success
    with pytest.raises(ExecutionFailed) as caught:
        result.raise_for_error()
    assert caught.value.result is result
    assert not isinstance(caught.value, TimeoutError)


def test_raise_for_error_names_the_exception() -> None:
    result = ExecutionResult(exit_code=1, error=ExecutionError(name="NameError", value="name 'x' is not defined"))

    with pytest.raises(ExecutionFailed, match="NameError: name 'x' is not defined"):
        result.raise_for_error()


def test_raise_for_error_names_the_exit_code() -> None:
    with pytest.raises(ExecutionFailed, match="exit code 3"):
        ExecutionResult(exit_code=3).raise_for_error()


def test_a_timeout_raises_execution_timeout() -> None:
    result = ExecutionResult(stdout="partial", timed_out=True, exit_code=-9)

    assert not result.success
    with pytest.raises(ExecutionTimeout) as caught:
        result.raise_for_error()
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, ExecutionFailed)
    assert isinstance(caught.value, AirlockError)
    assert caught.value.result.stdout == "partial"


def test_a_timeout_is_not_a_success_even_with_exit_code_0() -> None:
    assert not ExecutionResult(timed_out=True).success


# -- capabilities --------------------------------------------------------------------------------------


def test_capability_has_the_twelve_values() -> None:
    assert {c.value for c in Capability} == {
        "vm_isolation",
        "container_isolation",
        "snapshots",
        "memory_snapshots",
        "network_audit",
        "overlay_fs",
        "llm_bridge",
        "dns_allowlist",
        "resource_limits",
        "python_execution",
        "bash_execution",
        "file_operations",
    }
    assert len(Capability) == 12
    assert Capability("snapshots") is Capability.SNAPSHOTS


# -- languages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("python", "python"),
        ("py", "python"),
        ("python3", "python"),
        ("js", "javascript"),
        ("node", "javascript"),
        ("sh", "bash"),
        ("rs", "rust"),
        ("golang", "go"),
        ("PY", "python"),
    ],
)
def test_get_language_by_alias(alias: str, name: str) -> None:
    assert get_language(alias).name == name


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("main.py", "python"),
        ("script.js", "javascript"),
        ("lib.cjs", "javascript"),
        ("/tmp/run.sh", "bash"),
        ("dir.d/build.bash", "bash"),
        ("main.rs", "rust"),
        ("main.go", "go"),
        ("MAIN.PY", "python"),
    ],
)
def test_language_for_path_by_suffix(path: str, name: str) -> None:
    assert language_for_path(path).name == name


def test_unknown_language_names_the_known_ones() -> None:
    with pytest.raises(UnknownLanguage, match="python") as caught:
        get_language("cobol")

    assert isinstance(caught.value, InvalidRequest)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("path", ["notes.txt", "Makefile", "archive.py.bak"])
def test_unknown_suffix(path: str) -> None:
    with pytest.raises(UnknownLanguage, match="language"):
        language_for_path(path)
