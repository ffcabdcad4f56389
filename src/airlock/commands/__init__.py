"""Markdown commands: an agent's commands as markdown files with YAML frontmatter, found in folders,
checked field by field, and run through the policy like any other code.

    registry = Registry.from_settings(runtime.settings)       # the project's, the user's, configured folders
    deploy = registry.resolve("deploy")                       # by name or alias
    result = await run_command(runtime, deploy, {"environment": "staging", "dry_run": True})

``schema`` (the frontmatter), ``markdown`` (reading a file), ``script`` (placeholders and how values
reach the script), ``bash`` (the allowlist of where a Bash placeholder may stand), ``params`` (values
from text or JSON), ``registry`` (folders, duplicates, hot reload), ``run`` (permissions, concepts,
backend, limits, ``Runtime.execute``).
"""

from airlock.commands.markdown import load_definition, parse_definition
from airlock.commands.params import parse_params, validate_params
from airlock.commands.registry import Registry, command_dirs, project_commands
from airlock.commands.run import build_request, run_command
from airlock.commands.schema import (
    CommandDefinition,
    CommandView,
    ExecutionMode,
    Parameter,
    ParameterType,
    ParameterValidation,
    ResourceLimits,
    Script,
)

__all__ = [
    "CommandDefinition",
    "CommandView",
    "ExecutionMode",
    "Parameter",
    "ParameterType",
    "ParameterValidation",
    "Registry",
    "ResourceLimits",
    "Script",
    "build_request",
    "command_dirs",
    "load_definition",
    "parse_definition",
    "parse_params",
    "project_commands",
    "run_command",
    "validate_params",
]
