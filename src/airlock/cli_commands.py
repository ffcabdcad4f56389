"""``airlock commands``: the markdown commands of this machine (``airlock.commands``).

    airlock commands list [--json]                    every command in force, and how many files have problems
    airlock commands show NAME [--json]               one command (by name or alias): parameters, mode, script
    airlock commands validate [PATH ...]              check files or folders (default: the configured folders)
    airlock commands run NAME --param k=v [--intent TEXT] [--attempt N] [--json]
                                                      run it through the policy; exit codes as ``airlock run``

``validate`` exits 0 when everything loads, 1 when something does not (each problem printed as
``file:line: message``). ``run`` exits with the script's exit code; 2 for an unknown command, bad
parameters, or a request that misses the command's required concepts (with the feedback to rephrase
it: ``--intent`` says what the request is for, in the caller's words, and is checked with the values;
``--attempt`` counts the rephrasings before this one, and at ``max_retries`` the refusal escalates);
124 timed out; 125 the sandbox failed; 126 denied by the policy (also: the role lacks one of the
command's permissions).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from airlock.cli import EXIT_USAGE, _Parser
from airlock.config import load_settings

__all__ = ["COMMANDS", "EXIT_INVALID", "add_commands", "run"]

#: The top-level commands this module serves.
COMMANDS = frozenset({"commands"})
EXIT_INVALID = 1


def add_commands(sub: Any) -> None:
    """Add ``commands list|show|validate|run`` to the ``airlock`` parser's subcommands."""
    commands = sub.add_parser("commands", help="markdown commands: list, show, validate and run them")
    verbs = commands.add_subparsers(dest="commands_command", required=True, parser_class=_Parser)
    listing = verbs.add_parser("list", help="the commands in force")
    listing.add_argument("--json", action="store_true", help="print them as JSON")
    show = verbs.add_parser("show", help="one command, by name or alias")
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="print it as JSON")
    validate = verbs.add_parser("validate", help="check command files: exit 0 if all load, 1 if not")
    validate.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the configured folders)")
    runner = verbs.add_parser("run", help="run a command through the policy, in the sandbox its mode asks for")
    runner.add_argument("name")
    runner.add_argument("--param", action="append", default=[], metavar="K=V", help="a parameter (repeatable)")
    runner.add_argument("--json", action="store_true", help="print the whole result as JSON")
    runner.add_argument("--role", help="the policy role to run as (default: the policy's default_role)")
    runner.add_argument("--intent", help="what the request is for, checked against knowledge_graph_required")
    runner.add_argument(
        "--attempt", type=_attempt, default=0, metavar="N", help="rephrasings before this one (default 0)"
    )


def _attempt(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"the attempt is a count from 0, not {text!r}")
    return int(text)


def run(args: argparse.Namespace) -> int:
    from airlock.errors import CommandNotFound, ConceptsMissing

    try:
        if args.commands_command == "validate":
            return _validate(args.paths)
        if args.commands_command == "run":
            return asyncio.run(_run(args))
        return _list(args.json) if args.commands_command == "list" else _show(args.name, args.json)
    except CommandNotFound as exc:
        print(f"airlock: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConceptsMissing as exc:
        print(f"airlock: {exc}\n{exc.feedback}".rstrip(), file=sys.stderr)
        return EXIT_USAGE


def _registry() -> Any:
    from airlock.commands import Registry

    registry = Registry.from_settings(load_settings())
    if registry.errors:
        print(
            f"airlock: {len(registry.errors)} command files have problems: see `airlock commands validate`",
            file=sys.stderr,
        )
    return registry


def _list(as_json: bool) -> int:
    from airlock.commands import CommandView

    commands = _registry().commands()
    if as_json:
        print(json.dumps([CommandView.of(c).model_dump(mode="json") for c in commands], indent=2))
        return 0
    for command in commands:
        aliases = f" ({', '.join(command.aliases)})" if command.aliases else ""
        where = f"{command.risk_level.value}/{command.execution_mode.value}"
        print(f"{command.name + aliases:<32} {where:<16} {command.description}")
    return 0


def _show(name: str, as_json: bool) -> int:
    from airlock.commands import CommandView

    command = _registry().resolve(name)
    view = CommandView.of(command)
    if as_json:
        print(view.model_dump_json(indent=2))
        return 0
    print(f"{view.name} {view.version}: {view.description}")
    for label, value in (
        ("usage", view.usage),
        ("category", view.category),
        ("aliases", ", ".join(view.aliases)),
        ("risk", view.risk_level.value),
        ("mode", view.execution_mode.value),
        ("permissions", ", ".join(view.permissions)),
        ("concepts", ", ".join(view.knowledge_graph_required)),
        ("timeout", f"{view.timeout:g} s" if view.timeout else None),
        ("limits", view.resource_limits.model_dump_json(exclude_none=True) if view.resource_limits else None),
        ("file", command.source),
    ):
        if value:
            print(f"  {label + ':':<13}{value}")
    for p in view.parameters:
        default = f" = {json.dumps(p.default)}" if p.has_default else ""
        need = "required" if p.required else "optional"
        print(f"  --param {p.name}: {p.type.value}, {need}{default}" + (f"  {p.description}" if p.description else ""))
    print(f"\n```{view.language}\n{view.script}```")
    return 0


def _validate(paths: list[Path]) -> int:
    from airlock.commands import Registry, load_definition
    from airlock.errors import DefinitionError

    problems: list[DefinitionError] = []
    loaded = 0
    if not paths:
        registry = Registry.from_settings(load_settings())
        problems, loaded = registry.errors, len(registry.commands())
    for path in paths:
        if path.is_dir():
            folder = Registry([path])
            problems += folder.reload()
            loaded += len(folder.commands())
            continue
        try:
            load_definition(path)
            loaded += 1
        except DefinitionError as exc:
            problems.append(exc)
    for problem in problems:
        print(problem)
    print(f"{loaded} commands load; {len(problems)} files have problems", file=sys.stderr)
    return EXIT_INVALID if problems else 0


async def _run(args: argparse.Namespace) -> int:
    from airlock.cli import _print_live, _report
    from airlock.commands import parse_params, run_command
    from airlock.runtime import Runtime

    command = _registry().resolve(args.name)
    params = parse_params(command, args.param)
    async with Runtime() as runtime:
        result = await run_command(
            runtime,
            command,
            params,
            role=args.role,
            on_output=None if args.json else _print_live,
            intent=args.intent,
            attempt=args.attempt,
        )
    return _report(result, args.json)
