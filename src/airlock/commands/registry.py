"""The commands of a set of folders, by name and alias, reloaded on demand or when a file changes.

Folders are scanned for ``*.md`` files (not ``README.md``, nor anything whose name starts with
``.``), ``max_depth`` folders deep, symlinked folders not followed. Each file is one command.

* A file that cannot be used is reported (``errors``, each with file and line); if an earlier
  version of it loaded, that version stays in force until the file is fixed or deleted.
* Names and aliases are one namespace: a command whose name or alias is already taken is refused,
  and the report names both files. The command that held it first keeps it; among new ones, the
  earlier folder, then the path in sort order.
* A deleted file's command is gone at the next reload.

``reload()`` is synchronous; ``watch()`` reloads whenever a ``.md`` file under the folders changes
(``watchfiles``), and once when it starts watching. A reload builds a new snapshot and swaps it in
whole, so a reader never sees half of one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from airlock.commands.markdown import load_definition
from airlock.commands.schema import CommandDefinition
from airlock.config import Settings
from airlock.errors import CommandNotFound, DefinitionError

__all__ = ["Registry", "command_dirs", "project_commands"]

logger = logging.getLogger(__name__)


def project_commands() -> Path | None:
    """The ``commands/`` folder shipped beside ``src/`` (a checkout or an editable install), if there."""
    package = Path(__file__).resolve().parents[1]
    folder = package.parents[1] / "commands"
    return folder if package.parent.name == "src" and folder.is_dir() else None


def command_dirs(settings: Settings) -> list[Path]:
    """The folders of ``settings`` in order: the project's, ``$AIRLOCK_HOME/commands``, the configured."""
    project = project_commands() if settings.commands.builtin else None
    folders = [*([project] if project else []), settings.home / "commands", *settings.commands.dirs]
    unique: dict[Path, Path] = {}
    for folder in folders:
        unique.setdefault(folder.expanduser().resolve(), folder.expanduser())
    return list(unique.values())


@dataclass(frozen=True)
class _Snapshot:
    files: dict[Path, CommandDefinition] = field(default_factory=dict)  # the version in force of each file
    names: dict[str, CommandDefinition] = field(default_factory=dict)  # name and alias -> command
    errors: list[DefinitionError] = field(default_factory=list)


class Registry:
    """Commands by name and alias from ``dirs`` (in order of precedence)."""

    def __init__(self, dirs: Sequence[Path], *, max_depth: int = 10) -> None:
        self.dirs = [Path(d) for d in dirs]
        self.max_depth = max_depth
        self._state = _Snapshot()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        """The registry of the settings' folders, loaded."""
        registry = cls(command_dirs(settings), max_depth=settings.commands.max_depth)
        registry.reload()
        return registry

    # -- reading ------------------------------------------------------------------------------------
    @property
    def errors(self) -> list[DefinitionError]:
        """What the last reload refused: files that do not load, names and aliases taken twice."""
        return list(self._state.errors)

    def commands(self) -> list[CommandDefinition]:
        """Every command in force, by name."""
        unique = {c.name: c for c in self._state.names.values()}
        return [unique[name] for name in sorted(unique)]

    def get(self, name: str) -> CommandDefinition | None:
        """The command of this name or alias, or None."""
        return self._state.names.get(name)

    def resolve(self, name: str) -> CommandDefinition:
        """The command of this name or alias; ``CommandNotFound`` with suggestions when there is none."""
        found = self.get(name)
        if found is None:
            raise CommandNotFound(name, self.suggest(name, limit=3))
        return found

    def search(self, query: str) -> list[CommandDefinition]:
        """Commands whose name, alias, category, description or script holds ``query`` (any case)."""
        needle = query.lower()
        return [
            c
            for c in self.commands()
            if any(
                needle in text.lower() for text in (c.name, *c.aliases, c.category or "", c.description, c.script.code)
            )
        ]

    def suggest(self, partial: str, limit: int = 10) -> list[str]:
        """Names and aliases like ``partial``: prefixes first (100), then substrings (50), then those
        within two edits (100 - 20 per edit); ties by name."""
        scored = []
        needle = partial.lower()
        for key in self._state.names:
            folded = key.lower()
            if folded.startswith(needle):
                score = 100
            elif needle in folded:
                score = 50
            elif (distance := _edits(needle, folded, 2)) <= 2:
                score = 100 - 20 * distance
            else:
                continue
            scored.append((-score, key))
        return [key for _, key in sorted(scored)[:limit]]

    # -- loading ------------------------------------------------------------------------------------
    def reload(self) -> list[DefinitionError]:
        """Scan the folders again and put what loads in force; returns the problems (also ``errors``)."""
        with self._lock:
            previous = self._state
            files: dict[Path, CommandDefinition] = {}
            errors: list[DefinitionError] = []
            for path in self._scan():
                try:
                    files[path] = load_definition(path)
                except DefinitionError as exc:
                    errors.append(exc)
                    if path in previous.files:
                        files[path] = previous.files[path]
                        logger.info("%s; its last good version stays in force", exc)
                    else:
                        logger.info("%s", exc)
            names, conflicts = _index(files, previous)
            self._state = _Snapshot(files, names, errors + conflicts)
            return self.errors

    async def watch(
        self,
        *,
        stop_event: asyncio.Event | None = None,
        on_reload: Callable[[list[DefinitionError]], None] | None = None,
        debounce_ms: int = 100,
    ) -> None:
        """Reload whenever a ``.md`` file under the folders is added, changed or removed, until
        ``stop_event`` is set (or the task is cancelled); and once as soon as the watcher runs (within
        a second), so that a change between the last reload and the watch's start is not lost.
        Folders that do not exist yet are not watched."""
        import watchfiles

        roots = [d for d in self.dirs if d.is_dir()]
        if not roots:
            logger.info("no command folder exists; nothing to watch")
            await (stop_event.wait() if stop_event is not None else asyncio.Event().wait())
            return
        watching = False
        async for changes in watchfiles.awatch(
            *roots,
            stop_event=stop_event,
            debounce=debounce_ms,
            watch_filter=lambda _change, path: path.endswith(".md"),
            rust_timeout=1000,
            yield_on_timeout=True,  # the first pass (changes or none) comes once the watcher exists
        ):
            if watching and not changes:
                continue  # the watcher's idle wake-up
            watching = True
            errors = await asyncio.to_thread(self.reload)
            if on_reload is not None:
                on_reload(errors)

    def _scan(self) -> list[Path]:
        found: list[Path] = []
        for root in self.dirs:
            found.extend(_markdown_files(root, self.max_depth))
        return found


def _markdown_files(root: Path, max_depth: int) -> Iterable[Path]:
    if not root.is_dir():
        return []
    found: list[Path] = []
    for folder, subfolders, names in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        if depth >= max_depth:
            if subfolders:
                logger.warning("%s: not scanned below %d folders deep", folder, max_depth)
            subfolders.clear()
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        found.extend(
            Path(folder) / name
            for name in sorted(names)
            if name.lower().endswith(".md") and not name.startswith(".") and name.lower() != "readme.md"
        )
    return found


def _index(
    files: dict[Path, CommandDefinition], previous: _Snapshot
) -> tuple[dict[str, CommandDefinition], list[DefinitionError]]:
    """Name and alias -> command; a command that takes a key already taken is refused whole."""
    held = {command.source for command in previous.names.values()}
    order = sorted(files, key=lambda path: str(path) not in held)  # those in force keep their keys; else scan order
    names: dict[str, CommandDefinition] = {}
    conflicts: list[DefinitionError] = []
    for path in order:
        command = files[path]
        keys = [("name", command.name), *((f"aliases[{i}]", a) for i, a in enumerate(command.aliases))]
        clashes = [(where, key, names[key]) for where, key in keys if key in names]
        if clashes:
            conflicts.append(DefinitionError(str(path), [_clash(command, *clash) for clash in clashes]))
            continue
        names.update({key: command for _, key in keys})
    return names, conflicts


def _clash(command: CommandDefinition, where: str, key: str, holder: CommandDefinition) -> tuple[int | None, str]:
    holder_where = "name" if holder.name == key else f"aliases[{holder.aliases.index(key)}]"
    at = f"{holder.source}:{holder.lines.get(holder_where, holder.lines.get('aliases'))}"
    what = "name" if where == "name" else "alias"
    return (
        command.lines.get(where, command.lines.get("aliases")),
        f"{what} {key!r} is taken: it is the {'name' if holder_where == 'name' else 'alias'} of "
        f"{holder.name!r} in {at}; this command is not loaded",
    )


def _edits(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` once it is past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    row = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (char != other))
        if min(row) > limit:
            return limit + 1
    return row[-1]
