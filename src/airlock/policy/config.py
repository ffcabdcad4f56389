"""The policy's settings (``[policy]`` in the TOML file): roles, limits, windows, hooks, secrets.

[policy]
default_role = "agent"
blacklist = ["nmap", "masscan"]

[policy.roles.agent]
languages = ["python", "bash"]
max_risk = "medium"              # the highest risk it may run; critical is never run
egress = ["pypi.org", "*.pythonhosted.org"]
secrets = ["github_token"]
rate = { per_minute = 60, burst = 10 }
knowledge = { thesaurus = "ops.json", strictness = "normal", required = ["deploy"] }

[[policy.time_windows]]          # none: any time
days = ["mon", "tue", "wed", "thu", "fri"]
start = "08:00"
end = "20:00"

[policy.secrets.github_token]
env = "GITHUB_TOKEN"              # read from the host's environment (or file = "/run/secrets/x")
"""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from airlock.models import Risk

__all__ = [
    "Day",
    "HookConfig",
    "KnowledgeCheck",
    "PolicyConfig",
    "RateLimit",
    "Role",
    "SecretSource",
    "Stage",
    "TimeWindow",
]

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Stage = Literal["pre_validation", "pre_exec", "post_exec", "on_deny", "on_failure"]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RateLimit(_Config):
    """A token bucket: ``burst`` at once, refilled at ``per_minute``."""

    per_minute: float = Field(gt=0)
    burst: int = Field(1, ge=1)


class KnowledgeCheck(_Config):
    """Requests to the role must speak the domain's language: their code is validated against a
    thesaurus (``airlock.knowledge``); one that fails is denied, the reasons naming the unknown terms
    and carrying feedback to rephrase by. Paths are relative to the working directory."""

    thesaurus: str | None = Field(None, description="a thesaurus file in Terraphim's JSON format")
    concepts_dir: str | None = Field(None, description="a folder of markdown concept files (synonyms:: lines)")
    strictness: Literal["permissive", "normal", "strict"] = "normal"
    required: list[str] = Field(default_factory=list, description="concepts every request must mention")
    min_match_ratio: float | None = Field(None, ge=0, le=1, description="null: the strictness's own")

    @field_validator("strictness", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> KnowledgeCheck:
        if (self.thesaurus is None) == (self.concepts_dir is None):
            raise ValueError("a knowledge check needs exactly one of thesaurus or concepts_dir")
        return self


class Role(_Config):
    """What a caller with this role may do."""

    languages: list[str] | None = Field(None, description="the languages it may run; null: all")
    max_risk: Risk = Field(Risk.HIGH, description="the highest risk it may run (critical never runs)")
    egress: list[str] = Field(default_factory=list, description="hosts reachable through the egress proxy")
    secrets: list[str] = Field(default_factory=list, description="secrets its sandboxes get as env vars")
    rate: RateLimit | None = Field(None, description="executions per agent")
    max_code_bytes: int | None = Field(None, ge=1)
    max_timeout_ms: int | None = Field(None, ge=1, description="the longest execution timeout it may ask for")
    max_memory_mb: int | None = Field(None, ge=16, description="the most memory its sandboxes may ask for")
    backends: list[str] | None = Field(None, description="the backends it may pin; null: any")
    permissions: list[str] | None = Field(
        None, description="the permissions it holds: a markdown command needing another is refused; null: any"
    )
    knowledge: KnowledgeCheck | None = Field(None, description="validate its requests against a thesaurus")


class TimeWindow(_Config):
    days: list[Day] = Field(default_factory=lambda: list[Day](["mon", "tue", "wed", "thu", "fri", "sat", "sun"]))
    start: time = time(0, 0)
    end: time = time(23, 59, 59)
    timezone: str = "UTC"


class HookConfig(_Config):
    """A shell command run at a stage with the context as JSON on stdin; before the execution, a
    non-zero exit vetoes it (the first line of its output is the reason)."""

    stage: Stage
    command: list[str] = Field(min_length=1)
    priority: int = 1000
    timeout_s: float = Field(5.0, gt=0)
    name: str | None = None


class SecretSource(_Config):
    """Where a secret's value lives on the host: an env var of the host, or a file."""

    env: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretSource:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret needs exactly one of env or file")
        return self


class PolicyConfig(_Config):
    mode: Literal["enforce", "audit", "off"] = Field(
        "enforce", description="audit: judge and record, never deny; off: no analysis at all"
    )
    default_role: str = "default"
    roles: dict[str, Role] = Field(default_factory=lambda: {"default": Role()})
    blacklist: list[str] = Field(default_factory=list, description="commands never run, in any language")
    languages: list[str] | None = Field(None, description="the languages anyone may run; null: all")
    agent_rate: RateLimit | None = Field(None, description="executions per agent, for roles without their own")
    command_rates: dict[str, RateLimit] = Field(default_factory=dict, description="runs of each named command")
    time_windows: list[TimeWindow] = Field(default_factory=list, description="when code may run; none: always")
    hooks: list[HookConfig] = Field(default_factory=list)
    secrets: dict[str, SecretSource] = Field(default_factory=dict)
    analysis_timeout_ms: float = Field(500.0, gt=0, description="past it, the analysis counts as failed: denied")

    @model_validator(mode="after")
    def _known_names(self) -> PolicyConfig:
        if self.default_role not in self.roles:
            raise ValueError(f"default_role {self.default_role!r} is not among the roles {sorted(self.roles)}")
        for name, role in self.roles.items():
            unknown = set(role.secrets) - set(self.secrets)
            if unknown:
                raise ValueError(f"role {name!r} names unknown secrets: {sorted(unknown)}")
        return self
