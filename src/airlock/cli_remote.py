"""The commands that talk to an Airlock server, through the SDK (``$AIRLOCK_URL``, ``$AIRLOCK_API_KEY``).

    airlock sandbox create -l python            a running sandbox; -q prints only its id
    airlock sandbox list | status ID            tables for people, --json for scripts
    airlock sandbox exec ID -c 'print(1)'       output as it comes; exits with the code's exit code
    airlock sandbox stop | start | delete ID
    airlock files put -s ID LOCAL REMOTE        also: get -s ID REMOTE [LOCAL|-], ls -s ID [PATH]
    airlock snapshot create|list|restore|fork|rollback ID ...   see airlock.cli_snapshot
    airlock history --sandbox ID --since 1h     the executions, newest first (--local: this machine's)
    airlock pool stats [NAME]                   the warm pools: sandboxes by state, counters, boot times
    airlock pool create NAME --target-idle 4    (an admin key) declare a pool; also: pool delete NAME

Exit codes: 0 done; 1 the server refused (no such sandbox, wrong state, bad API key, a limit, a
file error); 2 bad usage or an invalid request; 125 no server at the URL, or the sandbox failed.
``sandbox exec`` exits as ``airlock run`` does: the code's exit code, 124 timed out, 128+N killed
by signal N.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airlock.cli import EXIT_USAGE, _env, _fail, _Parser, _print_live, _report
from airlock.errors import (
    AuthenticationError,
    ConfigError,
    FileOperationError,
    PoolExhausted,
    PoolNotFound,
    RateLimited,
    SandboxNotFound,
    SandboxStateError,
    SnapshotError,
    SnapshotNotFound,
    UnknownLanguage,
)
from airlock.languages import COMMAND, language_for_path
from airlock.models import USE_DEFAULT, OutputChunk, PoolConfig, PoolInfo, Strategy, Template
from airlock.remote import RemoteSandbox

if TYPE_CHECKING:
    from airlock.client import AsyncClient

__all__ = ["COMMANDS", "EXIT_REFUSED", "add_commands", "run"]

EXIT_REFUSED = 1
#: The top-level commands this module serves.
COMMANDS = frozenset({"sandbox", "files", "history", "pool", "snapshot"})
_REFUSED = (
    SandboxNotFound,
    SandboxStateError,
    AuthenticationError,
    RateLimited,
    FileOperationError,
    PoolNotFound,
    PoolExhausted,
    ConfigError,
    SnapshotNotFound,
    SnapshotError,
)

_Handler = Callable[["AsyncClient", argparse.Namespace], Awaitable[int]]


# -- the parsers -------------------------------------------------------------------------------------
class _IntermixedParser(_Parser):
    """Options and positionals in any order: ``exec ID --timeout 1 FILE``, ``exec ID -l command -- ls -la``
    (plain argparse takes the positionals it sees first, and then rejects the rest)."""

    _intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: list[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._intermixing:  # parse_known_intermixed_args calls back in
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def add_commands(sub: Any) -> None:
    """Add ``sandbox``, ``files``, ``history``, ``pool`` and ``snapshot`` to the ``airlock`` parser's
    subcommands."""
    from airlock.cli_snapshot import add_snapshot_commands

    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--url", help="the server (default: $AIRLOCK_URL, else http://127.0.0.1:8080)")
    connection.add_argument("--api-key", help="the API key (default: $AIRLOCK_API_KEY)")
    output = argparse.ArgumentParser(add_help=False, parents=[connection])
    output.add_argument("--json", action="store_true", help="print JSON, for scripts")

    sandbox = sub.add_parser("sandbox", help="sandboxes on an Airlock server (see `airlock serve`)")
    commands = sandbox.add_subparsers(dest="sandbox_command", required=True, parser_class=_IntermixedParser)
    create = commands.add_parser("create", parents=[output], help="a new, running sandbox")
    create.add_argument("-l", "--language", help="its default language (default python, or the pool's)")
    create.add_argument("--backend", help="the isolation backend (default: the server's)")
    create.add_argument("--pool", help="take it from this warm pool (its template decides language and limits)")
    create.add_argument("--memory-mb", type=int)
    create.add_argument("--cpus", type=float)
    create.add_argument("--pids", type=int)
    create.add_argument("--network", action="store_true", default=None, help="let it reach the network")
    create.add_argument("--env", action="append", default=[], metavar="K=V", help="an environment variable")
    create.add_argument("-q", "--quiet", action="store_true", help="print only the id")
    create.set_defaults(handler=_create)
    commands.add_parser("list", parents=[output], help="this API key's sandboxes").set_defaults(handler=_list)
    for name, handler, what in (
        ("status", _status, "a sandbox's state, limits and capabilities"),
        ("stop", _stop, "stop its processes; the workspace stays"),
        ("start", _start, "start a stopped sandbox again"),
        ("delete", _delete, "kill everything and delete the workspace"),
    ):
        command = commands.add_parser(name, parents=[output], help=what)
        command.add_argument("id")
        command.set_defaults(handler=handler)
    _add_exec(commands.add_parser("exec", parents=[output], help="run code in a sandbox, output as it comes"))

    files = sub.add_parser("files", help="files in a sandbox's workspace")
    file_commands = files.add_subparsers(dest="files_command", required=True, parser_class=_IntermixedParser)
    put = file_commands.add_parser("put", parents=[output], help="copy LOCAL (or - for stdin) to REMOTE")
    get = file_commands.add_parser("get", parents=[connection], help="copy REMOTE to LOCAL (default -: stdout)")
    ls = file_commands.add_parser("ls", parents=[output], help="list a directory (default: the workspace)")
    for command in (put, get, ls):
        command.add_argument("-s", "--sandbox", required=True, metavar="ID")
    put.add_argument("local")
    put.add_argument("remote")
    get.add_argument("remote")
    get.add_argument("local", nargs="?", default="-")
    ls.add_argument("path", nargs="?", default=".")
    put.set_defaults(handler=_put)
    get.set_defaults(handler=_get)
    ls.set_defaults(handler=_ls)

    history = sub.add_parser("history", parents=[output], help="the executions, newest first")
    history.add_argument("--sandbox", metavar="ID")
    history.add_argument("--agent", metavar="AGENT_ID")
    history.add_argument("--status", help="ok, error, timeout, killed or sandbox_died")
    history.add_argument("--since", type=_when, metavar="WHEN", help="a time (ISO 8601) or an age: 30m, 2h, 7d")
    history.add_argument("--until", type=_when, metavar="WHEN", help="the same forms as --since")
    history.add_argument("--limit", type=int, default=20, help="at most this many (default 20, up to 1000)")
    history.add_argument("--local", action="store_true", help="this machine's library runs, not a server's")
    history.set_defaults(handler=_history)
    add_snapshot_commands(sub, output, _IntermixedParser)

    pool = sub.add_parser("pool", help="the server's warm pools of started sandboxes")
    pool_commands = pool.add_subparsers(dest="pool_command", required=True, parser_class=_IntermixedParser)
    stats = pool_commands.add_parser("stats", parents=[output], help="sandboxes by state, counters, boot times")
    stats.add_argument("name", nargs="?", help="one pool (default: all)")
    stats.set_defaults(handler=_pool_stats)
    declare = pool_commands.add_parser("create", parents=[output], help="declare a pool (takes an admin key)")
    declare.add_argument("name")
    declare.add_argument("-l", "--language", default="python")
    declare.add_argument("--backend", help="default: the server's")
    for option, kind, what in (
        ("--target-idle", int, "idle sandboxes kept ready"),
        ("--min-size", int, "never trimmed below this many"),
        ("--max-size", int, "idle and leased together"),
        ("--max-uses", int, "leases per sandbox before it is replaced"),
        ("--max-age", float, "seconds before a sandbox is replaced"),
        ("--wait", float, "seconds an acquire waits on a drained pool"),
    ):
        declare.add_argument(option, type=kind, help=what)
    declare.add_argument("--strategy", choices=[s.value for s in Strategy])
    declare.add_argument("--when-empty", choices=["wait_then_create", "wait_then_fail"])
    declare.set_defaults(handler=_pool_create)
    remove = pool_commands.add_parser("delete", parents=[connection], help="close a pool (takes an admin key)")
    remove.add_argument("name")
    remove.set_defaults(handler=_pool_delete)


def _add_exec(command: argparse.ArgumentParser) -> None:
    command.add_argument("id")
    command.add_argument(
        "what", nargs="*", metavar="FILE | PROGRAM ARG", help="a source file (- for stdin); with -l command, an argv"
    )
    command.add_argument("-c", "--code", help="the code to run")
    command.add_argument("-l", "--language", help=f"default: the sandbox's; {COMMAND}: run a program (put -- first)")
    command.add_argument("--timeout", type=float, help="seconds before the code is killed (default: the server's)")
    command.add_argument("--env", action="append", default=[], metavar="K=V", help="an environment variable")
    command.add_argument("--cwd", help="working directory, relative to the workspace")
    command.add_argument("--stdin", metavar="FILE", help="feed this file to the code's stdin")
    command.add_argument("--context", default="default", help="the REPL context whose state it shares")
    command.add_argument("--fresh", action="store_true", help="run in a fresh process, not a REPL context")
    command.add_argument("--agent", metavar="AGENT_ID", help="recorded in the history")
    command.set_defaults(handler=_exec)


# -- running them ------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    """Run a server-facing command; the server's refusals exit 1, with its one-line message."""
    try:
        return asyncio.run(_with_client(args))
    except _REFUSED as exc:
        _fail(str(exc), EXIT_REFUSED)


async def _with_client(args: argparse.Namespace) -> int:
    from airlock.client import AsyncClient

    handler: _Handler = args.handler
    async with AsyncClient(args.url, args.api_key) as client:
        return await handler(client, args)


class _Progress:
    """A spinner and the time waited, on stderr, while nothing else shows; only on a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _Progress:
        if sys.stderr.isatty():
            self._task = asyncio.create_task(self._spin())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()

    async def _spin(self) -> None:
        started = asyncio.get_running_loop().time()
        for frame in itertools.cycle("|/-\\"):
            elapsed = asyncio.get_running_loop().time() - started
            sys.stderr.write(f"\r{frame} {self.label} {elapsed:.1f}s")
            sys.stderr.flush()
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        """Stop spinning and clear the line (output is coming)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


# -- sandbox -----------------------------------------------------------------------------------------
def _as_json(sandbox: RemoteSandbox) -> dict[str, Any]:
    return {
        "id": sandbox.id,
        "status": sandbox.status,
        "language": sandbox.language,
        "backend": sandbox.backend,
        "limits": sandbox.limits,
        "capabilities": sorted(sandbox.capabilities),
        "last_error": sandbox.last_error,
        "created_at": sandbox.created_at.isoformat(),
    }


def _show(sandboxes: list[RemoteSandbox], args: argparse.Namespace) -> int:
    if args.json:
        _print_json([_as_json(sb) for sb in sandboxes] if args.sandbox_command == "list" else _as_json(sandboxes[0]))
        return 0
    rows = [[sb.id, sb.status, sb.language, sb.backend, f"{sb.created_at:%Y-%m-%d %H:%M:%S}"] for sb in sandboxes]
    _table(["ID", "STATUS", "LANGUAGE", "BACKEND", "CREATED (UTC)"], rows)
    return 0


async def _create(client: AsyncClient, args: argparse.Namespace) -> int:
    limits = {"memory_mb": args.memory_mb, "cpus": args.cpus, "pids": args.pids, "network": args.network}
    async with _Progress("creating the sandbox"):
        sandbox = await client.create_sandbox(
            args.language or "python",
            args.backend,
            {name: value for name, value in limits.items() if value is not None},
            _env(args.env),
            pool=args.pool,
        )
    if args.quiet and not args.json:
        print(sandbox.id)
        return 0
    return _show([sandbox], args)


async def _list(client: AsyncClient, args: argparse.Namespace) -> int:
    return _show(await client.list_sandboxes(), args)


async def _status(client: AsyncClient, args: argparse.Namespace) -> int:
    sandbox = await client.get_sandbox(args.id)
    if args.json:
        _print_json(_as_json(sandbox))
        return 0
    limits = " ".join(f"{name}={value}" for name, value in sandbox.limits.items())
    for name, value in (
        ("id", sandbox.id),
        ("status", sandbox.status),
        ("language", sandbox.language),
        ("backend", sandbox.backend),
        ("limits", limits),
        ("capabilities", " ".join(sorted(sandbox.capabilities))),
        ("created", f"{sandbox.created_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("last error", sandbox.last_error or "-"),
    ):
        print(f"{name:<13} {value}")
    return 0


async def _stop(client: AsyncClient, args: argparse.Namespace) -> int:
    sandbox = await client.get_sandbox(args.id)
    await sandbox.stop()
    return _show([sandbox], args)


async def _start(client: AsyncClient, args: argparse.Namespace) -> int:
    sandbox = await client.get_sandbox(args.id)
    async with _Progress("starting the sandbox"):
        await sandbox.start()
    return _show([sandbox], args)


async def _delete(client: AsyncClient, args: argparse.Namespace) -> int:
    sandbox = await client.get_sandbox(args.id)  # a clear "no such sandbox" (destroy is idempotent)
    await sandbox.destroy()
    if args.json:
        _print_json({"id": sandbox.id, "deleted": True})
    else:
        print(f"deleted {sandbox.id}")
    return 0


def _what_to_run(args: argparse.Namespace) -> tuple[str, list[str] | None, str | None]:
    """The code, or the argv of ``-l command``, and the language (None: the sandbox's)."""
    if args.language == COMMAND:
        if not args.what:
            _fail("-l command needs a program to run: -l command -- PROGRAM ARG...", EXIT_USAGE)
        return "", list(args.what), None
    if len(args.what) > 1 or (args.what and args.code is not None):
        _fail("give -c CODE or one FILE (a program with arguments: -l command -- PROGRAM ARG...)", EXIT_USAGE)
    if args.code is not None:
        return args.code, None, args.language
    if args.what == ["-"]:
        return sys.stdin.read(), None, args.language
    if args.what:
        return _read_source(args.what[0], args.language)
    _fail("nothing to run: give -c CODE, a FILE, or - for stdin", EXIT_USAGE)


def _read_source(name: str, language: str | None) -> tuple[str, None, str | None]:
    path = Path(name)
    if not path.is_file():
        _fail(f"no such file: {name}", EXIT_USAGE)
    if language is None:
        try:
            language = language_for_path(name).name
        except UnknownLanguage:
            language = None  # the sandbox's own language
    return path.read_text(), None, language


async def _exec(client: AsyncClient, args: argparse.Namespace) -> int:
    code, argv, language = await asyncio.to_thread(_what_to_run, args)
    options: dict[str, Any] = {
        "timeout_ms": USE_DEFAULT if args.timeout is None else max(1, int(args.timeout * 1000)),
        "env": _env(args.env),
        "cwd": args.cwd,
        "stdin": await asyncio.to_thread(_read_local, args.stdin) if args.stdin else None,
        "agent_id": args.agent,
    }
    sandbox = await client.get_sandbox(args.id)
    async with _Progress("running") as progress:

        def show(chunk: OutputChunk) -> None:
            progress.stop()
            _print_live(chunk)

        on_output = None if args.json else show
        if argv is not None:
            result = await sandbox.run_command(argv, on_output=on_output, **options)
        else:
            context = None if args.fresh else args.context
            result = await sandbox.exec(code, language, context=context, on_output=on_output, **options)
    return _report(result, args.json)


# -- files and history -------------------------------------------------------------------------------
def _read_local(name: str) -> bytes:
    """A local file's bytes (``-``: stdin's); a missing file is a usage error."""
    if name == "-":
        return sys.stdin.buffer.read()
    if not Path(name).is_file():
        _fail(f"no such file: {name}", EXIT_USAGE)
    return Path(name).read_bytes()


async def _put(client: AsyncClient, args: argparse.Namespace) -> int:
    data = await asyncio.to_thread(_read_local, args.local)
    size = await (await client.get_sandbox(args.sandbox)).write_file(args.remote, data)
    if args.json:
        _print_json({"path": args.remote, "size": size})
    else:
        print(f"wrote {size} bytes to {args.remote}")
    return 0


async def _get(client: AsyncClient, args: argparse.Namespace) -> int:
    data = await (await client.get_sandbox(args.sandbox)).read_file(args.remote)
    if args.local == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        await asyncio.to_thread(Path(args.local).write_bytes, data)
        print(f"wrote {len(data)} bytes to {args.local}", file=sys.stderr)
    return 0


async def _ls(client: AsyncClient, args: argparse.Namespace) -> int:
    entries = await (await client.get_sandbox(args.sandbox)).list_files(args.path)
    if args.json:
        _print_json([asdict(entry) for entry in entries])
        return 0
    rows = [[e.type, str(e.size), f"{e.mode:o}", e.name + ("/" if e.type == "dir" else "")] for e in entries]
    _table(["TYPE", "SIZE", "MODE", "NAME"], rows)
    return 0


def _when(text: str) -> datetime:
    """``2026-11-21T10:00`` (UTC unless it says), or an age back from now: ``90s``, ``30m``, ``2h``, ``7d``."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[:-1].isdigit() and text[-1:] in units:
        return datetime.now(UTC) - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither an ISO 8601 time nor an age like 30m") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _history(client: AsyncClient, args: argparse.Namespace) -> int:
    filters = {
        "sandbox_id": args.sandbox,
        "agent_id": args.agent,
        "status": args.status,
        "since": args.since,
        "until": args.until,
        "limit": args.limit,
    }
    if args.local:
        from airlock.runtime import Runtime

        async with Runtime() as runtime:
            if runtime.history is None:
                raise ConfigError("the history is off here (history.record = false)")
            records = await runtime.history.query(**filters)
    else:
        records = await client.executions(**filters)
    if args.json:
        _print_json([record.model_dump(mode="json") for record in records])
        return 0
    rows = [
        [
            r.id,
            f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            r.sandbox_id or "(one-shot)",
            r.agent_id or "-",
            r.language,
            r.status + (" (rolled back)" if r.rolled_back_to else ""),
            str(r.exit_code),
            f"{r.duration_ms:.0f}",
            _first_line(r.code or (f"sha256:{r.code_sha256[:12]}" if r.code_sha256 else "")),
        ]
        for r in records
    ]
    _table(["ID", "STARTED (UTC)", "SANDBOX", "AGENT", "LANGUAGE", "STATUS", "EXIT", "MS", "CODE"], rows)
    return 0


def _first_line(code: str, width: int = 40) -> str:
    lines = code.strip().splitlines() or [""]
    line = lines[0] + (" ..." if len(lines) > 1 else "")
    return line if len(line) <= width else line[: width - 3] + "..."


# -- pool --------------------------------------------------------------------------------------------
#: The boot phases ``pool stats`` shows, as p50 milliseconds.
_BOOT_COLUMNS = ("spawn", "agent_ready", "first_exec")


async def _pool_stats(client: AsyncClient, args: argparse.Namespace) -> int:
    pools = [await client.pool(args.name)] if args.name else await client.pools()
    if args.json:
        _print_json([pool.model_dump(mode="json") for pool in pools])
        return 0
    _show_pools(pools)
    return 0


def _show_pools(pools: list[PoolInfo]) -> None:
    rows = []
    for pool in pools:
        s = pool.stats
        boot = [f"{s.boot[phase].p50_ms:.1f}" if s.boot[phase].count else "-" for phase in _BOOT_COLUMNS]
        counts = [
            s.idle,
            s.leased,
            s.creating,
            s.resetting,
            s.acquired,
            s.cold_starts,
            s.recycled,
            s.exhausted,
            s.failed,
        ]
        rows.append([s.name, s.backend, s.language, s.strategy.value, *map(str, counts), *boot])
    header = ["POOL", "BACKEND", "LANGUAGE", "STRATEGY", "IDLE", "LEASED", "CREATING", "RESETTING"]
    header += ["ACQUIRED", "COLD", "RECYCLED", "EXHAUSTED", "FAILED", "SPAWN MS", "AGENT MS", "1ST EXEC MS"]
    _table(header, rows)
    for pool in pools:
        if pool.stats.last_error:
            print(f"{pool.name}: last creation failed: {pool.stats.last_error}", file=sys.stderr)
    if not pools:
        print("(no pools)")


async def _pool_create(client: AsyncClient, args: argparse.Namespace) -> int:
    options = {
        "target_idle": args.target_idle,
        "min_size": args.min_size,
        "max_size": args.max_size,
        "max_uses": args.max_uses,
        "max_age_s": args.max_age,
        "wait_s": args.wait,
        "strategy": args.strategy,
        "when_empty": args.when_empty,
    }
    template = Template(name=args.name, language=args.language, backend=args.backend)
    try:
        config = PoolConfig(template=template, **{k: v for k, v in options.items() if v is not None})
    except ValueError as exc:
        _fail(f"invalid pool: {exc}", EXIT_USAGE)
    pool = await client.create_pool(config)
    if args.json:
        _print_json(pool.model_dump(mode="json"))
    else:
        _show_pools([pool])
    return 0


async def _pool_delete(client: AsyncClient, args: argparse.Namespace) -> int:
    await client.delete_pool(args.name)
    return 0
