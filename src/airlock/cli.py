"""The ``airlock`` command.

    airlock run -l python -c 'print(1)'      run a snippet in a fresh sandbox
    airlock run script.js                    the language from the file's suffix
    echo 'exit 3' | airlock run -l bash -    code from stdin; exit code 3 passed through
    airlock doctor                           what this host can run, and what to install
    airlock languages                        the languages and how each runs
    airlock serve                            the REST server; `airlock keys create` makes API keys
    airlock sandbox | files | history ...    talk to a server (AIRLOCK_URL): see airlock.cli_remote
    airlock audit verify | tail              the audit log, hash-chained: see airlock.cli_audit
    airlock policy check FILE                the policy's verdict, nothing run: see airlock.cli_policy
    airlock chat [-m MESSAGE]                talk with a model whose code runs in a sandbox: airlock.cli_chat
    airlock rlm --context FILE --query Q     a Recursive Language Model run: airlock.cli_rlm
    airlock commands list | show | run NAME  markdown commands: see airlock.cli_commands

Exit codes of ``run``: the code's own exit code; 2 bad usage; 124 timed out; 125 the sandbox
failed (could not start, died, backend unavailable); 126 denied by the policy; 128+N killed by
signal N (e.g. 137: SIGKILL, as when out of memory).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import NoReturn

from airlock.config import LlmConfig, Settings, load_settings
from airlock.errors import AirlockError, ConfigError, InvalidRequest, PolicyDenied, SandboxError
from airlock.languages import COMMAND, LANGUAGES, get_language, language_for_path
from airlock.models import ExecutionContext, ExecutionRequest, ExecutionResult, OutputChunk

__all__ = ["EXIT_DENIED", "EXIT_SANDBOX_FAILED", "EXIT_TIMEOUT", "EXIT_USAGE", "llm_config", "main", "source"]

EXIT_USAGE = 2
EXIT_TIMEOUT = 124
EXIT_SANDBOX_FAILED = 125
EXIT_DENIED = 126


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"airlock: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="airlock", description="Run code written by AI agents in isolated sandboxes.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what Airlock does (to stderr)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run code in a fresh sandbox and print what it printed")
    run.add_argument("file", nargs="?", help="a source file, or - for stdin")
    run.add_argument("-c", "--code", help="the code to run")
    run.add_argument(
        "-l", "--language", help=f"one of {', '.join(LANGUAGES)}, or {COMMAND} (FILE and ARGS are an argv)"
    )
    run.add_argument("args", nargs=argparse.REMAINDER, help="with -l command: the rest of the argv")
    run.add_argument("--json", action="store_true", help="print the whole result as JSON")
    run.add_argument("--timeout", type=float, default=None, help="seconds before the code is killed")
    run.add_argument("--env", action="append", default=[], metavar="K=V", help="an environment variable")
    run.add_argument("--cwd", help="working directory, relative to the workspace")
    run.add_argument("--stdin", metavar="FILE", help="feed this file to the code's stdin")
    run.add_argument("--backend", help="pin the isolation backend (default: the rung the policy picks)")
    run.add_argument("--role", help="the policy role to run as (default: the policy's default_role)")

    serve = sub.add_parser("serve", help="run the REST server (until SIGTERM or Ctrl-C; SIGHUP reloads the policy)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080)")

    keys = sub.add_parser("keys", help="API keys of the server")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, parser_class=_Parser)
    create_key = keys_sub.add_parser("create", help="make a key; it is printed once, only its hash is kept")
    create_key.add_argument("--name", required=True)
    create_key.add_argument("--tenant", help="whose sandboxes the key reaches (default: the name)")
    create_key.add_argument("--admin", action="store_true", help="may also manage the warm pools every tenant shares")
    create_key.add_argument("--role", help="the policy role its executions are judged for (default: default_role)")
    keys_sub.add_parser("list", help="the keys (names and tenants, never the keys)")

    doctor = sub.add_parser("doctor", help="which backends and languages work on this host, and why not")
    doctor.add_argument("--json", action="store_true")
    languages = sub.add_parser("languages", help="the languages Airlock runs")
    languages.add_argument("--json", action="store_true")

    from airlock import (  # here: they import this module's helpers
        cli_audit,
        cli_chat,
        cli_commands,
        cli_policy,
        cli_remote,
        cli_rlm,
    )

    cli_remote.add_commands(sub)  # sandbox, files, history: through a server
    cli_audit.add_commands(sub)  # audit verify, audit tail: this machine's audit log
    cli_policy.add_commands(sub)  # policy check, policy patterns
    cli_chat.add_commands(sub)  # chat: a model whose code runs in a sandbox of its own
    cli_rlm.add_commands(sub)  # rlm, rlm replay: Recursive Language Model runs
    cli_commands.add_commands(sub)  # commands list, show, validate, run: markdown commands
    return parser


def _fail(message: str, code: int) -> NoReturn:
    print(f"airlock: {message}", file=sys.stderr)
    raise SystemExit(code)


def _env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not key.replace("_", "a").isalnum() or key[0].isdigit():
            _fail(f"bad --env {pair!r}: expected NAME=value", EXIT_USAGE)
        env[key] = value
    return env


def llm_config(settings: Settings, args: argparse.Namespace) -> LlmConfig:
    """The settings' ``[llm]`` with ``--model`` and ``--base-url`` over it (``chat``, ``rlm``)."""
    overrides = {key: value for key, value in (("model", args.model), ("base_url", args.base_url)) if value}
    return settings.llm.model_copy(update=overrides)


def source(file: str | None, code: str | None, language: str | None, verb: str) -> tuple[str, str]:
    """The code of ``-c CODE``, a FILE or ``-`` (stdin), and its language: ``-l``, else the file's
    suffix; a usage error (exit 2) when either cannot be had."""
    if code is None and file == "-":
        code = sys.stdin.read()
    elif code is None and file:
        path = Path(file)
        if not path.is_file():
            _fail(f"no such file: {file}", EXIT_USAGE)
        code = path.read_text()
        language = language or language_for_path(file).name
    elif code is None:
        _fail(f"nothing to {verb}: give -c CODE, a FILE, or - for stdin", EXIT_USAGE)
    if language is None:
        _fail("say which language with -l (it cannot be told from -c or stdin)", EXIT_USAGE)
    return code, language if language == COMMAND else get_language(language).name


def _request(args: argparse.Namespace) -> ExecutionRequest:
    language = args.language
    argv: list[str] | None = None
    if language == COMMAND:
        argv = [a for a in ([args.file] if args.file else []) + args.args]
        if not argv:
            _fail("-l command needs a program to run", EXIT_USAGE)
        code = ""
    else:
        if args.code is not None and (args.file or args.args):
            _fail("give either -c CODE or a FILE, not both", EXIT_USAGE)
        code, language = source(args.file, args.code, language, "run")
    context = ExecutionContext(
        timeout_ms=None if args.timeout is None else max(1, int(args.timeout * 1000)),
        env_vars=_env(args.env),
        working_dir=args.cwd,
    )
    if args.timeout is None:
        context.timeout_ms = load_settings().default_timeout_ms
    stdin = Path(args.stdin).read_bytes() if args.stdin else None
    return ExecutionRequest(code=code, argv=argv, language=language, context=context, backend=args.backend, stdin=stdin)


def _print_live(chunk: OutputChunk) -> None:
    stream = sys.stdout if chunk.stream == "stdout" else sys.stderr
    stream.write(chunk.data)
    stream.flush()


async def _run(args: argparse.Namespace) -> int:
    from airlock.runtime import Runtime

    request = _request(args)
    async with Runtime() as runtime:
        result = await runtime.execute(request, on_output=None if args.json else _print_live, role=args.role)
    return _report(result, args.json)


def _report(result: ExecutionResult, as_json: bool) -> int:
    if as_json:
        print(result.model_dump_json(indent=2))
    elif result.output_file_path:
        print(f"[airlock] output past the inline cap is in {result.output_file_path}", file=sys.stderr)
    if result.sandbox_died and not result.timed_out:
        if not as_json:
            print(f"airlock: the sandbox failed: {result.error.value if result.error else ''}", file=sys.stderr)
        return EXIT_SANDBOX_FAILED
    if result.timed_out:
        if not as_json:
            print("airlock: timed out", file=sys.stderr)
        return EXIT_TIMEOUT
    if result.oom_killed and not as_json:
        print("airlock: out of memory: the sandbox's memory limit was hit", file=sys.stderr)
    return result.exit_code if 0 <= result.exit_code <= 255 else EXIT_SANDBOX_FAILED


async def _keys(args: argparse.Namespace) -> int:
    from airlock.server.auth import create_key
    from airlock.store.sqlite import SQLiteStore

    settings = load_settings()
    if args.keys_command == "create" and args.role is not None and args.role not in settings.policy.roles:
        _fail(
            f"the policy has no role {args.role!r} (it has {', '.join(sorted(settings.policy.roles))}); "
            f"declare [policy.roles.{args.role}] in {settings.config_file} first",
            EXIT_USAGE,
        )
    async with SQLiteStore(settings.database) as store:
        if args.keys_command == "create":
            key, record = await create_key(store, args.name, args.tenant, admin=args.admin, role=args.role)
            print(key)
            kind = "an admin key" if record.admin else "key"
            role = f", role {record.role!r}" if record.role else ""
            print(f"{kind} {record.id} for tenant {record.tenant!r}{role}; it is shown this once", file=sys.stderr)
        else:
            for record in await store.list_keys():
                print(
                    f"{record.id}  {record.name:<20} tenant={record.tenant}  created={record.created_at:%Y-%m-%d %H:%M}"
                    + (f"  role={record.role}" if record.role else "")
                    + ("  admin" if record.admin else "")
                )
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from airlock.doctor import diagnose

    report = diagnose(load_settings())
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.render())
    return 0 if report.ok else 1


def _languages(args: argparse.Namespace) -> int:
    if args.json:
        rows = [
            {
                "name": lang.name,
                "aliases": list(lang.aliases),
                "suffixes": list(lang.suffixes),
                "repl": lang.repl is not None,
                "compiled": lang.compile is not None,
            }
            for lang in LANGUAGES.values()
        ]
        print(json.dumps(rows, indent=2))
        return 0
    for lang in LANGUAGES.values():
        how = "persistent REPL" if lang.repl else "compiled, cached by content" if lang.compile else "interpreted"
        print(f"{lang.name:<11} {' '.join(lang.suffixes):<10} {how}; aliases: {', '.join(lang.aliases)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="airlock: %(message)s")
    try:
        if args.command == "run":
            return asyncio.run(_run(args))
        if args.command == "doctor":
            return _doctor(args)
        if args.command == "serve":
            from airlock.server import serve

            serve(load_settings(), args.host, args.port)
            return 0
        if args.command == "keys":
            return asyncio.run(_keys(args))
        from airlock import cli_audit, cli_chat, cli_commands, cli_policy, cli_remote, cli_rlm

        if args.command in cli_commands.COMMANDS:
            return cli_commands.run(args)

        if args.command in cli_chat.COMMANDS:
            return cli_chat.run(args)
        if args.command in cli_rlm.COMMANDS:
            return cli_rlm.run(args)
        if args.command in cli_policy.COMMANDS:
            return cli_policy.run(args)
        if args.command in cli_remote.COMMANDS:
            return cli_remote.run(args)
        if args.command in cli_audit.COMMANDS:
            return cli_audit.run(args)
        return _languages(args)
    except PolicyDenied as exc:
        _fail(str(exc), EXIT_DENIED)
    except (InvalidRequest, ConfigError) as exc:
        _fail(str(exc), EXIT_USAGE)
    except (SandboxError, AirlockError) as exc:
        _fail(str(exc), EXIT_SANDBOX_FAILED)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
