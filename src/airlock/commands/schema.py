"""A markdown command's frontmatter, as a pydantic model: every key means what it says, and any
other key is refused.

Enumerated values are case-insensitive (``risk_level: High``, ``execution_mode: Firecracker``,
``type: String``); ``firecracker`` is a synonym of ``microvm``. A parameter's ``default`` (or
``default_value``, the seeds' spelling) must itself pass the parameter's validation, and a required
parameter has none. ``min``/``max`` bound numbers, ``pattern`` must match a whole string, and
``allowed_values`` (in ``validation`` or beside it, not both) are compared by value and type.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from airlock.models import Risk

__all__ = [
    "FRONTMATTER_KEYS",
    "NAME_PATTERN",
    "PARAMETER_NAME_PATTERN",
    "CommandDefinition",
    "CommandView",
    "ExecutionMode",
    "Parameter",
    "ParameterType",
    "ParameterValidation",
    "ResourceLimits",
    "Script",
    "Slot",
    "check_value",
]

NAME_PATTERN = r"^[a-zA-Z][a-zA-Z0-9_-]*$"
#: Parameter names become parts of environment variable names, so no ``-``.
PARAMETER_NAME_PATTERN = r"^[a-zA-Z][a-zA-Z0-9_]*$"


class ExecutionMode(StrEnum):
    """Where a command runs (``airlock.commands.run`` maps each to a backend)."""

    LOCAL = "local"  # the process backend only without parameters, at low risk, with network_access; else hybrid
    SANDBOX = "sandbox"  # the namespace backend (or stronger when the risk needs it)
    MICROVM = "microvm"  # the microvm backend, or a BackendUnavailable error: never a fallback
    HYBRID = "hybrid"  # the policy's routing


class ParameterType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ARRAY = "array"
    OBJECT = "object"


_SYNONYMS = {"firecracker": "microvm"}


def _folded(value: Any) -> Any:
    """Enumerated values in any case; ``firecracker`` is ``microvm``."""
    if isinstance(value, str):
        value = value.strip().lower()
        return _SYNONYMS.get(value, value)
    return value


_Mode = Annotated[ExecutionMode, BeforeValidator(_folded)]
_RiskLevel = Annotated[Risk, BeforeValidator(_folded)]
_Kind = Annotated[ParameterType, BeforeValidator(_folded)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterValidation(_Model):
    min: float | None = Field(None, description="numbers only: the smallest value")
    max: float | None = Field(None, description="numbers only: the largest value")
    allowed_values: list[Any] | None = Field(None, min_length=1, description="the only values it may take")
    pattern: str | None = Field(None, description="strings only: a regular expression the whole value must match")

    @model_validator(mode="after")
    def _consistent(self) -> ParameterValidation:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern: {self.pattern!r} is not a regular expression: {exc}") from None
        return self


class Parameter(_Model):
    name: str = Field(pattern=PARAMETER_NAME_PATTERN)
    type: _Kind = ParameterType.STRING
    required: bool = False
    default: Any = Field(None, validation_alias=AliasChoices("default", "default_value"))
    description: str | None = None
    validation: ParameterValidation | None = None
    allowed_values: list[Any] | None = Field(None, min_length=1, description="the same as validation.allowed_values")

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set

    @property
    def rules(self) -> ParameterValidation:
        """The validation in force: ``validation`` with a top-level ``allowed_values`` merged in."""
        rules = self.validation or ParameterValidation()
        if self.allowed_values is not None:
            rules = rules.model_copy(update={"allowed_values": self.allowed_values})
        return rules

    @model_validator(mode="after")
    def _consistent(self) -> Parameter:
        if self.allowed_values is not None and self.validation is not None and self.validation.allowed_values:
            raise ValueError("allowed_values: given twice (beside validation and in it): keep one")
        rules = self.rules
        if (rules.min is not None or rules.max is not None) and self.type is not ParameterType.NUMBER:
            raise ValueError(f"validation: min and max bound numbers; {self.name!r} is a {self.type.value}")
        if rules.pattern is not None and self.type is not ParameterType.STRING:
            raise ValueError(f"validation: pattern applies to strings; {self.name!r} is a {self.type.value}")
        for allowed in rules.allowed_values or ():
            try:
                _check_type(self, allowed, what=f"allowed value {allowed!r}")
            except ValueError as exc:
                where = "allowed_values" if self.allowed_values is not None else "validation"
                raise ValueError(f"{where}: {exc}") from None
        if self.required and self.has_default:
            raise ValueError(f"default: {self.name!r} is required, so it cannot have a default")
        if self.has_default:
            try:
                check_value(self, self.default, what=f"the default {self.default!r}")
            except ValueError as exc:
                raise ValueError(f"default: {exc}") from None
        return self


class ResourceLimits(_Model):
    max_memory_mb: int | None = Field(None, ge=16, description="the sandbox's memory (the smallest sandbox has 16)")
    max_cpu_time: float | None = Field(None, gt=0, description="seconds; the execution's timeout is no longer")
    max_disk_mb: int | None = Field(
        None, gt=0, description="the sandbox's /tmp, at most the settings' limits.tmpfs_mb (the workspace has no cap)"
    )
    network_access: bool = Field(False, description="the role's egress, when the policy allows it; else none")


class Slot(_Model):
    """Where a ``{{name}}`` placeholder stands in a script, and how it is rendered there."""

    start: int
    end: int
    name: str
    context: Literal["word", "quoted", "python"]
    whole_word: bool = False
    refuse_dash: bool = Field(False, description="a value that begins with '-' is refused there: it would be an option")


class Script(_Model):
    """The command's body: the first fenced code block, and its placeholders (``airlock.commands.script``)."""

    language: Literal["bash", "python"]
    code: str
    line: int = Field(description="the file's line of the script's first line")
    slots: list[Slot] = Field(default_factory=list)


class CommandDefinition(_Model):
    """One command: its frontmatter, its script and where it came from."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field(min_length=1)
    usage: str | None = None
    category: str | None = None
    aliases: list[Annotated[str, Field(pattern=NAME_PATTERN)]] = Field(default_factory=list)
    version: str = "1.0.0"
    parameters: list[Parameter] = Field(default_factory=list)
    execution_mode: _Mode = ExecutionMode.HYBRID
    risk_level: _RiskLevel = Risk.LOW
    permissions: list[str] = Field(default_factory=list)
    knowledge_graph_required: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    timeout: float | None = Field(None, gt=0, description="seconds")
    resource_limits: ResourceLimits | None = None
    # Not frontmatter: filled in by the loader (``airlock.commands.markdown``), refused as keys.
    script: Script
    source: str | None = Field(None, description="the file it was read from")
    lines: dict[str, int] = Field(default_factory=dict, description="frontmatter key -> its line in the file")

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    @field_validator("aliases")
    @classmethod
    def _distinct_aliases(cls, aliases: list[str], info: ValidationInfo) -> list[str]:
        taken = [a for i, a in enumerate(aliases) if a in aliases[:i] or a == info.data.get("name")]
        if taken:
            raise ValueError(f"aliases must differ from each other and from the name: {', '.join(taken)}")
        return aliases

    @field_validator("parameters")
    @classmethod
    def _distinct_parameters(cls, parameters: list[Parameter]) -> list[Parameter]:
        names = [p.name for p in parameters]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"parameters named twice: {', '.join(twice)}")
        return parameters


class CommandView(BaseModel):
    """A command as the CLI's ``--json`` and the REST API show it: its frontmatter and script, not
    where its file is. A parameter's ``default`` is null when it has none."""

    name: str
    description: str
    usage: str | None
    category: str | None
    aliases: list[str]
    version: str
    parameters: list[Parameter]
    execution_mode: ExecutionMode
    risk_level: Risk
    permissions: list[str]
    knowledge_graph_required: list[str]
    timeout: float | None
    resource_limits: ResourceLimits | None
    language: Literal["bash", "python"]
    script: str

    @classmethod
    def of(cls, definition: CommandDefinition) -> CommandView:
        fields = definition.model_dump(exclude={"script", "source", "lines", "parameters"})
        script = definition.script
        return cls(**fields, parameters=definition.parameters, language=script.language, script=script.code)


#: The frontmatter keys (``script``, ``source`` and ``lines`` are the loader's).
FRONTMATTER_KEYS = frozenset(CommandDefinition.model_fields) - {"script", "source", "lines"}


def _check_type(parameter: Parameter, value: Any, *, what: str) -> None:
    kind = parameter.type
    ok = {
        ParameterType.STRING: isinstance(value, str),
        ParameterType.NUMBER: isinstance(value, int | float) and not isinstance(value, bool),
        ParameterType.BOOLEAN: isinstance(value, bool),
        ParameterType.ARRAY: isinstance(value, list),
        ParameterType.OBJECT: isinstance(value, dict) and all(isinstance(k, str) for k in value),
    }[kind]
    if not ok:
        raise ValueError(f"{what} of {parameter.name!r} is not a {kind.value}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{what} of {parameter.name!r} is not a finite number")


def check_value(parameter: Parameter, value: Any, *, what: str = "the value") -> Any:
    """``value`` if it passes the parameter's type and validation, else ``ValueError`` saying why."""
    _check_type(parameter, value, what=what)
    rules = parameter.rules
    if rules.min is not None and value < rules.min:
        raise ValueError(f"{what} of {parameter.name!r} is below its min {rules.min:g}")
    if rules.max is not None and value > rules.max:
        raise ValueError(f"{what} of {parameter.name!r} is above its max {rules.max:g}")
    if rules.pattern is not None and re.fullmatch(rules.pattern, value) is None:
        raise ValueError(f"{what} of {parameter.name!r} does not match its pattern {rules.pattern!r}")
    if rules.allowed_values is not None and not any(_same(value, a) for a in rules.allowed_values):
        allowed = ", ".join(map(repr, rules.allowed_values))
        raise ValueError(f"{what} of {parameter.name!r} is not one of its allowed values: {allowed}")
    return value


def _same(value: Any, allowed: Any) -> bool:
    """Equal by value and kind (``True`` is not ``1`` here)."""
    return bool(value == allowed and isinstance(value, bool) == isinstance(allowed, bool))
