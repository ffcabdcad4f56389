"""``airlock snapshot``: a server's sandbox snapshots, from the command line.

airlock snapshot create ID [--name NAME] [--pin]   prints the snapshot's id
airlock snapshot list ID                           oldest first
airlock snapshot restore ID SNAPSHOT               the files back as they were (REPL state is lost)
airlock snapshot delete ID SNAPSHOT
airlock snapshot fork ID SNAPSHOT                  a new sandbox from it; prints its id
airlock snapshot rollback ID [--agent A]           back to the agent's last successful exec
airlock snapshot policy ID [--before] [--on-failure] [--auto-rollback]   what each exec does
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from airlock.cli_remote import _table
from airlock.models import SnapshotPolicy

if TYPE_CHECKING:
    from airlock.client import AsyncClient
    from airlock.snapshots import SnapshotInfo

__all__ = ["add_snapshot_commands"]


def add_snapshot_commands(sub: Any, output: argparse.ArgumentParser, parser_class: type[Any]) -> None:
    """Add ``snapshot`` and its subcommands (``output``: the shared --url, --api-key, --json)."""
    snapshot = sub.add_parser("snapshot", help="snapshots of a sandbox's files: take, restore, fork, roll back")
    commands = snapshot.add_subparsers(dest="snapshot_command", required=True, parser_class=parser_class)

    def command(name: str, handler: Any, what: str, *snapshot_arg: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(name, parents=[output], help=what)
        parser.add_argument("id", help="the sandbox")
        for arg in snapshot_arg:
            parser.add_argument(arg, help="the snapshot's id")
        parser.set_defaults(handler=handler)
        return parser

    create = command("create", _create, "snapshot the sandbox's files; prints the snapshot's id")
    create.add_argument("--name", default="snapshot")
    create.add_argument("--pin", action="store_true", help="never removed to make room under the cap")
    command("list", _list, "the sandbox's snapshots, oldest first")
    command("restore", _restore, "put the files back as the snapshot has them", "snapshot")
    command("delete", _delete, "delete a snapshot", "snapshot")
    command("fork", _fork, "a new sandbox whose files are the snapshot's; prints its id", "snapshot")
    rollback = command("rollback", _rollback, "restore the state after the agent's last successful exec")
    rollback.add_argument("--agent", metavar="AGENT_ID")
    policy = command("policy", _policy, "set what each exec snapshots, and whether a failure rolls back")
    policy.add_argument("--before", action="store_true", help="snapshot before each exec")
    policy.add_argument("--on-failure", action="store_true", help="snapshot a failed exec's state")
    policy.add_argument("--auto-rollback", action="store_true", help="roll a failed exec back")


def _show(info: SnapshotInfo, as_json: bool) -> None:
    print(info.model_dump_json(indent=2) if as_json else info.id)


async def _create(client: AsyncClient, args: argparse.Namespace) -> int:
    _show(await (await client.get_sandbox(args.id)).snapshot(args.name, pinned=args.pin), args.json)
    return 0


async def _list(client: AsyncClient, args: argparse.Namespace) -> int:
    infos = await (await client.get_sandbox(args.id)).list_snapshots()
    if args.json:
        print(json.dumps([info.model_dump(mode="json") for info in infos], indent=2))
        return 0
    rows = [
        [
            i.id,
            f"{i.created_at:%Y-%m-%d %H:%M:%S}",
            i.name + (" (pinned)" if i.pinned else ""),
            str(i.files),
            str(i.bytes),
            str(i.new_bytes),
            "files+memory" if i.memory else "files",
        ]
        for i in infos
    ]
    _table(["ID", "TAKEN (UTC)", "NAME", "FILES", "BYTES", "NEW BYTES", "HOLDS"], rows)
    return 0


async def _restore(client: AsyncClient, args: argparse.Namespace) -> int:
    _show(await (await client.get_sandbox(args.id)).restore(args.snapshot), args.json)
    return 0


async def _delete(client: AsyncClient, args: argparse.Namespace) -> int:
    await (await client.get_sandbox(args.id)).delete_snapshot(args.snapshot)
    return 0


async def _fork(client: AsyncClient, args: argparse.Namespace) -> int:
    fork = await (await client.get_sandbox(args.id)).fork(args.snapshot)
    print(json.dumps({"id": fork.id, "status": fork.status}) if args.json else fork.id)
    return 0


async def _rollback(client: AsyncClient, args: argparse.Namespace) -> int:
    _show(await (await client.get_sandbox(args.id)).rollback_to_last_success(args.agent), args.json)
    return 0


async def _policy(client: AsyncClient, args: argparse.Namespace) -> int:
    policy = SnapshotPolicy(
        snapshot_before_exec=args.before,
        snapshot_on_failure=args.on_failure,
        auto_rollback_on_failure=args.auto_rollback,
    )
    sandbox = await client.get_sandbox(args.id)
    await sandbox.set_policy(policy)
    print(sandbox.policy.model_dump_json(indent=2 if args.json else None))
    return 0
