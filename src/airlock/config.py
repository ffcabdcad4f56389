"""Airlock's one settings model: a TOML file, overridden by ``AIRLOCK_*`` env vars, overridden by
call arguments.

The file is ``$AIRLOCK_CONFIG`` if set, else ``$AIRLOCK_HOME/config.toml`` (``AIRLOCK_HOME`` defaults
to ``~/.airlock``). Nested fields use ``__`` in env vars: ``AIRLOCK_LIMITS__MEMORY_MB=1024``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from airlock.errors import ConfigError
from airlock.llm.prices import ModelPrice
from airlock.models import (
    DEFAULT_MAX_OUTPUT_BYTES,
    DEFAULT_TIMEOUT_MS,
    MAX_INLINE_OUTPUT_BYTES,
    PoolConfig,
    SandboxLimits,
)
from airlock.policy.config import PolicyConfig

__all__ = [
    "BackendName",
    "CommandsConfig",
    "HistoryConfig",
    "LlmConfig",
    "NamespaceConfig",
    "ProcessConfig",
    "ServerConfig",
    "Settings",
    "default_home",
    "load_settings",
]

BackendName = Literal["process", "namespace"]


def default_home() -> Path:
    return Path(os.environ.get("AIRLOCK_HOME") or Path.home() / ".airlock")


class ProcessConfig(BaseModel):
    """The ``process`` backend: no isolation beyond rlimits. For trusted, low-risk work only."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["process"] = "process"
    python: str | None = Field(None, description="interpreter for the agent; default: the one running Airlock")


class NamespaceConfig(BaseModel):
    """The ``namespace`` backend: bubblewrap with every namespace unshared."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["namespace"] = "namespace"
    bwrap: str = "bwrap"
    python: str = Field("/usr/bin/python3", description="interpreter for the agent, inside the sandbox")
    uid_base: int = Field(
        200_000, ge=1000, description="when Airlock runs as root, sandboxes run as host uids from here up"
    )
    uid_count: int = Field(65_536, ge=1)
    cgroups: bool = Field(True, description="enforce limits with cgroups when the host allows it")
    extra_ro_binds: list[str] = Field(default_factory=list, description="more host paths, read-only")


class ServerConfig(BaseModel):
    """``airlock serve``: where it listens and what each tenant may use."""

    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_sandboxes_per_tenant: int = Field(20, ge=1, description="live sandboxes (created, running or stopped)")
    max_concurrent_execs_per_tenant: int = Field(8, ge=1)
    max_body_bytes: int = Field(48 * 1024 * 1024, ge=1024)
    shutdown_grace_s: float = Field(10.0, ge=0, description="on SIGTERM, how long in-flight execs may finish")
    prewarm: int = Field(
        2, ge=0, description="idle sandboxes of the default backend and Python kept ready, unless a pool is declared"
    )
    allowed_backends: list[BackendName] = Field(
        default_factory=lambda: list[BackendName](["namespace"]),
        description="backends clients may ask for; 'process' isolates nothing, so it is not offered by default",
    )


class HistoryConfig(BaseModel):
    """The execution history: what is kept of each execution, and for how long."""

    model_config = ConfigDict(extra="forbid")
    record: bool = Field(True, description="record the library's executions (the server always records its own)")
    keep_code: Literal["full", "hash", "none"] = Field(
        "full", description="the code itself, only its SHA-256, or neither"
    )
    max_age_days: float | None = Field(30, gt=0, description="older records are deleted; null keeps them")
    max_records: int | None = Field(100_000, ge=1, description="per tenant, the newest kept; null keeps all")


class LlmConfig(BaseModel):
    """``[llm]``: the model endpoint that agent chat and the RLM loop call (``airlock.llm.client``).

    The API key is a secret: it is never logged, never shown in a repr or an error, and never enters a
    sandbox. Keep it out of the file with ``api_key_env`` (the name of an env var holding it) or
    ``api_key_file`` (a file holding it); ``api_key`` itself (or ``AIRLOCK_LLM__API_KEY``) wins over both.
    """

    model_config = ConfigDict(extra="forbid")
    provider: Literal["openai", "ollama"] = Field(
        "openai", description="'openai': any OpenAI-compatible chat-completions server; 'ollama': /api/chat"
    )
    base_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="e.g. https://api.openai.com/v1 (openai) or http://127.0.0.1:11434 (ollama)",
    )
    model: str | None = Field(None, min_length=1, description="the default model, e.g. gpt-5-mini")
    sub_model: str | None = Field(None, min_length=1, description="for sub-calls (llm_query); default: model")
    api_key: SecretStr | None = None
    api_key_env: str | None = Field(None, min_length=1, description="an env var that holds the API key")
    api_key_file: Path | None = Field(None, description="a file that holds the API key (surrounding space ignored)")
    timeout_s: float = Field(120.0, gt=0, description="each HTTP request, connecting to the last byte")
    max_retries: int = Field(3, ge=0, description="retries on 429, 5xx, connection errors and timeouts")
    backoff_base_s: float = Field(0.5, ge=0, description="the first retry waits up to this (full jitter)")
    backoff_cap_s: float = Field(30.0, ge=0, description="no wait between retries is longer")
    retry_after_cap_s: float = Field(60.0, ge=0, description="a server's Retry-After is honoured up to this")
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict, description="USD per million tokens by model; over airlock.llm.prices' list prices"
    )

    def resolve_api_key(self) -> str | None:
        """The key from ``api_key``, else the env var ``api_key_env`` names, else ``api_key_file``."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if self.api_key_env is not None:
            if not os.environ.get(self.api_key_env):
                raise ConfigError(f"llm.api_key_env names {self.api_key_env!r}, which is not set or empty")
            return os.environ[self.api_key_env]
        if self.api_key_file is not None:
            try:
                return self.api_key_file.expanduser().read_text().strip()
            except OSError as exc:
                raise ConfigError(f"cannot read llm.api_key_file {str(self.api_key_file)!r}: {exc.strerror}") from exc
        return None


class CommandsConfig(BaseModel):
    """``[commands]``: where markdown commands are found (``airlock.commands``), and the thesaurus that
    ``knowledge_graph_required`` is checked against.

    Folders, in order (an earlier one wins a duplicate name, and the later file is reported): the
    project's ``commands/`` (shipped with Airlock, when it runs from a checkout), ``$AIRLOCK_HOME/commands``,
    then ``dirs``. A folder that does not exist is skipped."""

    model_config = ConfigDict(extra="forbid")
    builtin: bool = Field(True, description="include the commands shipped in the project's commands/ folder")
    dirs: list[Path] = Field(default_factory=list, description="more folders of *.md commands, scanned recursively")
    max_depth: int = Field(10, ge=0, description="how deep below each folder the scan goes")
    thesaurus: Path | None = Field(
        None,
        description="a thesaurus (Terraphim JSON, or a folder of markdown concept files) for "
        "knowledge_graph_required; default: the project's commands/thesaurus.json when builtin is on and it is there. "
        "Without one, a command that requires concepts is refused",
    )
    strictness: Literal["permissive", "normal", "strict"] = Field(
        "normal", description="how strictly a command's request is checked against the thesaurus"
    )
    max_retries: int = Field(3, ge=0, description="rephrasings a model is offered before a refusal escalates")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIRLOCK_", env_nested_delimiter="__", extra="forbid")

    home: Path = Field(default_factory=default_home)
    sandbox_root: Path | None = Field(
        None,
        description="where workspaces live; default /var/lib/airlock/sandboxes as root (sandbox uids must "
        "reach it), else $AIRLOCK_HOME/sandboxes",
    )
    backend: BackendName = "namespace"
    default_timeout_ms: int = Field(DEFAULT_TIMEOUT_MS, ge=1)
    max_output_bytes: int = Field(DEFAULT_MAX_OUTPUT_BYTES, ge=0, le=MAX_INLINE_OUTPUT_BYTES)
    max_code_bytes: int = Field(1024 * 1024, ge=1)
    control_timeout_s: float = Field(15.0, gt=0, description="agent start, file operations and other control steps")
    timeout_grace_s: float = Field(5.0, gt=0, description="past an exec's own timeout, the host kills the sandbox")
    limits: SandboxLimits = Field(default_factory=SandboxLimits)
    process: ProcessConfig = Field(default_factory=ProcessConfig)
    namespace: NamespaceConfig = Field(default_factory=NamespaceConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    pools: list[PoolConfig] = Field(
        default_factory=list, description="warm pools (``[[pools]]``), started by ``airlock serve``"
    )
    history: HistoryConfig = Field(default_factory=HistoryConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    commands: CommandsConfig = Field(default_factory=CommandsConfig)
    max_snapshots: int = Field(10, ge=1, description="per sandbox; past it, the oldest unpinned snapshot goes")
    use_pools: bool = Field(
        True, description="executions reuse reset sandboxes from pools; false: a fresh sandbox for each"
    )

    @field_validator("pools")
    @classmethod
    def _unique_pool_names(cls, pools: list[PoolConfig]) -> list[PoolConfig]:
        names = [pool.name for pool in pools]
        if len(set(names)) != len(names):
            raise ValueError(f"pool names must be unique: {names}")
        return pools

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = os.environ.get("AIRLOCK_CONFIG") or default_home() / "config.toml"
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=path)

    @property
    def config_file(self) -> Path:
        return Path(os.environ.get("AIRLOCK_CONFIG") or default_home() / "config.toml")

    @property
    def database(self) -> Path:
        return self.home / "airlock.db"

    @property
    def sandboxes_dir(self) -> Path:
        if self.sandbox_root is not None:
            return self.sandbox_root
        return Path("/var/lib/airlock/sandboxes") if os.geteuid() == 0 else self.home / "sandboxes"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, translating every way they can be wrong into one ``ConfigError``."""
    try:
        return Settings(**overrides)
    except (ValidationError, ValueError, OSError) as exc:
        raise ConfigError(f"invalid Airlock settings: {exc}") from exc
