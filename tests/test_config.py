"""Settings: a TOML file, overridden by ``AIRLOCK_*`` env vars, overridden by call arguments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airlock import AirlockError, ConfigError, Settings, load_settings
from airlock.models import SandboxLimits


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AIRLOCK_* variable of the caller's; a private home without a config file."""
    for key in list(os.environ):
        if key.startswith("AIRLOCK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AIRLOCK_HOME", str(tmp_path / "home"))


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The path AIRLOCK_CONFIG names; the test writes it."""
    path = tmp_path / "airlock.toml"
    monkeypatch.setenv("AIRLOCK_CONFIG", str(path))
    return path


def test_defaults(config_file: Path) -> None:
    settings = load_settings()

    assert settings.default_timeout_ms == 30_000
    assert settings.max_output_bytes == 64 * 1024
    assert settings.max_code_bytes == 1024 * 1024
    assert settings.backend == "namespace"
    assert settings.limits == SandboxLimits()
    assert settings.limits.network is False


def test_home_comes_from_airlock_home(tmp_path: Path) -> None:
    assert load_settings().home == tmp_path / "home"


def test_file_sets_values(config_file: Path) -> None:
    config_file.write_text(
        'backend = "process"\ndefault_timeout_ms = 1000\n\n'
        "[limits]\nmemory_mb = 1024\n\n"
        '[namespace]\nbwrap = "/opt/bwrap"\n'
    )

    settings = load_settings()

    assert settings.backend == "process"
    assert settings.default_timeout_ms == 1000
    assert settings.limits.memory_mb == 1024
    assert settings.namespace.bwrap == "/opt/bwrap"


def test_file_defaults_to_config_toml_in_the_home(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text("max_output_bytes = 123\n")

    assert load_settings().max_output_bytes == 123


def test_env_overrides_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file.write_text("default_timeout_ms = 1000\nmax_code_bytes = 500\n")
    monkeypatch.setenv("AIRLOCK_DEFAULT_TIMEOUT_MS", "2000")

    settings = load_settings()

    assert settings.default_timeout_ms == 2000
    assert settings.max_code_bytes == 500


def test_nested_env_overrides_one_field_of_the_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file.write_text("[limits]\nmemory_mb = 1024\npids = 100\n")
    monkeypatch.setenv("AIRLOCK_LIMITS__MEMORY_MB", "2048")

    limits = load_settings().limits

    assert limits.memory_mb == 2048
    assert limits.pids == 100


def test_arguments_override_env_and_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file.write_text("default_timeout_ms = 1000\n")
    monkeypatch.setenv("AIRLOCK_DEFAULT_TIMEOUT_MS", "2000")

    assert load_settings(default_timeout_ms=3000).default_timeout_ms == 3000
    assert Settings(default_timeout_ms=4000).default_timeout_ms == 4000


def test_a_missing_file_is_not_an_error(config_file: Path) -> None:
    assert not config_file.exists()

    assert load_settings().default_timeout_ms == 30_000


@pytest.mark.parametrize(
    "text",
    [
        "defualt_timeout_ms = 1000\n",
        "[limits]\nmemory = 1024\n",
        "[namespace]\nbwrap_path = '/usr/bin/bwrap'\n",
    ],
    ids=["top-level", "limits", "namespace"],
)
def test_unknown_key_in_file(config_file: Path, text: str) -> None:
    config_file.write_text(text)

    with pytest.raises(ConfigError):
        load_settings()


def test_unknown_argument() -> None:
    with pytest.raises(ConfigError, match="defualt_timeout_ms"):
        load_settings(defualt_timeout_ms=1000)


@pytest.mark.parametrize(
    "text",
    [
        "default_timeout_ms = 0\n",
        "default_timeout_ms = 'soon'\n",
        'backend = "docker"\n',
        "[limits]\nmemory_mb = 1\n",
        "this is not toml\n",
    ],
    ids=["timeout-zero", "timeout-text", "unknown-backend", "memory-too-small", "not-toml"],
)
def test_bad_value_in_file(config_file: Path, text: str) -> None:
    config_file.write_text(text)

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, AirlockError)
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AIRLOCK_DEFAULT_TIMEOUT_MS", "soon"),
        ("AIRLOCK_MAX_OUTPUT_BYTES", "-1"),
        ("AIRLOCK_BACKEND", "docker"),
        ("AIRLOCK_LIMITS__MEMORY_MB", "1"),
    ],
)
def test_bad_value_in_env(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValueError, match=name.removeprefix("AIRLOCK_").split("__")[-1].lower()) as caught:
        load_settings()

    assert isinstance(caught.value, ConfigError)


def test_bad_argument() -> None:
    with pytest.raises(ConfigError, match="max_output_bytes"):
        load_settings(max_output_bytes=-1)


def test_sandboxes_dir(tmp_path: Path) -> None:
    assert load_settings(sandbox_root=tmp_path / "root").sandboxes_dir == tmp_path / "root"
    default = load_settings().sandboxes_dir
    if os.geteuid() == 0:
        assert default == Path("/var/lib/airlock/sandboxes")
    else:
        assert default == tmp_path / "home" / "sandboxes"


def test_pools_are_declared_in_the_file(config_file: Path) -> None:
    config_file.write_text(
        """
[[pools]]
target_idle = 4
max_size = 8
strategy = "least_recently_used"
when_empty = "wait_then_fail"
template = { name = "py", language = "py" }

[[pools]]
template = { name = "node", language = "javascript", files = { "package.json" = "{}" } }
"""
    )
    py, node = load_settings().pools

    assert (py.name, py.template.language, py.target_idle, py.max_size) == ("py", "python", 4, 8)
    assert (py.strategy.value, py.when_empty) == ("least_recently_used", "wait_then_fail")
    assert (node.name, node.template.language, node.template.files) == ("node", "javascript", {"package.json": "{}"})
    assert (node.target_idle, node.template.warmup) == (2, True)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[[pools]]\ntemplate = { name = "a" }\n[[pools]]\ntemplate = { name = "a" }\n', "unique"),
        ('[[pools]]\nmin_size = 5\nmax_size = 2\ntemplate = { name = "a" }\n', "max_size"),
        ('[[pools]]\ntarget_idle = 3\nmax_size = 2\ntemplate = { name = "a" }\n', "max_size"),
        ('[[pools]]\ntemplate = { name = "a", language = "cobol" }\n', "cobol"),
        ('[[pools]]\ntemplate = { name = "../etc" }\n', "pattern"),
        ('[[pools]]\nstrategy = "fastest"\ntemplate = { name = "a" }\n', "strategy"),
        ('[[pools]]\ntemplate = { name = "a" }\ntarget = 3\n', "target"),
    ],
)
def test_a_bad_pool_is_refused_with_the_reason(config_file: Path, text: str, complaint: str) -> None:
    config_file.write_text(text)
    with pytest.raises(ConfigError, match=complaint):
        load_settings()


def test_pools_can_be_turned_off(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().use_pools is True
    monkeypatch.setenv("AIRLOCK_USE_POOLS", "false")
    assert load_settings().use_pools is False
