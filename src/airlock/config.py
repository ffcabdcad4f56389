"""Airlock's one settings model: a TOML file, overridden by ``AIRLOCK_*`` env vars, overridden by
call arguments.

The file is ``$AIRLOCK_CONFIG`` if set, else ``$AIRLOCK_HOME/config.toml`` (``AIRLOCK_HOME`` defaults
to ``~/.airlock``). Nested fields use ``__`` in env vars: ``AIRLOCK_LIMITS__MEMORY_MB=1024``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from airlock.errors import ConfigError
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
    "HistoryConfig",
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
