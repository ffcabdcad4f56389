"""The file-system judgments of the JavaScript analyzer: the paths ``fs`` calls write, delete, link,
change or read, judged by the rules every analyzer shares (``paths.kind`` and ``shell_rules``), so
``fs.rmSync('/', ...)`` in JavaScript is the same finding as ``rm -rf /`` in a shell."""

from __future__ import annotations

from tree_sitter import Node

from airlock.policy import shell_rules
from airlock.policy.js_grammar import line_of, text_of
from airlock.policy.js_values import Values
from airlock.policy.paths import Place, kind
from airlock.policy.patterns import Findings

__all__ = ["FUNCTIONS", "FileJudge"]

#: What stands for the unknown rest of a path of which only the start is known (as in ``python``).
_UNKNOWN = "$__VALUE__"
#: fs function (without "Sync") -> the indexes of its arguments that are paths it writes or deletes.
_WRITES: dict[str, tuple[int, ...]] = {
    name: (0,)
    for names in (
        "writeFile appendFile createWriteStream mkdir mkdtemp truncate chown lchown utimes lutimes",
        "rm rmdir unlink outputFile outputJson writeJson remove emptyDir ensureDir ensureFile mkdirp mkdirs",
    )
    for name in names.split()
}
_WRITES |= {"copyFile": (1,), "cp": (1,), "rename": (0, 1), "move": (0, 1), "symlink": (1,), "link": (1,)}
#: ... and those that are paths it reads (for a link, its target: what the link exposes).
_READS = {"readFile": (0,), "createReadStream": (0,), "copyFile": (0,), "cp": (0,), "readJson": (0,)}
_READS |= {"symlink": (0,), "link": (0,), "open": (0,)}
#: The names of the fs functions judged here.
FUNCTIONS = frozenset({*_WRITES, *_READS, "chmod", "lchmod"} | {f"{name}Sync" for name in {*_WRITES, *_READS, "chmod"}})
_TREES = frozenset({"rm", "rmdir", "remove", "emptyDir"})
_OUTSIDE = (Place.SYSTEM, Place.OTHER, Place.HOME)
_GUARDED = (Place.SYSTEM, Place.ROOT, Place.KERNEL, Place.CREDENTIAL)


class FileJudge:
    """Judges the ``fs`` calls of one script, folding their paths with ``values``."""

    def __init__(self, values: Values, findings: Findings) -> None:
        self._values, self._findings = values, findings

    def call(self, call: Node, name: str, args: list[Node]) -> None:
        operation, line = name.removesuffix("Sync"), line_of(call)
        if operation in ("chmod", "lchmod"):
            self._chmod(args, line)
            return
        writes, reads = _WRITES.get(operation, ()), _READS.get(operation, ())
        if operation == "open" and self._opens_for_writing(args):
            writes, reads = (0,), ()
        for index in writes:
            path = self._path(args[index], partial=True) if index < len(args) else None
            if path is not None:
                self._written(operation, path, line)
        for index in reads:
            path = self._path(args[index]) if index < len(args) else None
            if path is not None:
                self._read(operation, path, line)

    def _written(self, operation: str, path: str, line: int) -> None:
        place = kind(path) if operation in _TREES or operation == "unlink" else None  # only they ask
        if operation in _TREES and (place is Place.ROOT or shell_rules.is_top(path)):
            self._findings.add(shell_rules.DELETE_ROOT, line, path)
        elif operation in (*_TREES, "unlink") and place in _OUTSIDE:
            self._findings.add(shell_rules.DELETE_OUTSIDE, line, path)
        else:
            shell_rules.written(path, line, self._findings, by="rm" if operation in _TREES else None)

    def _read(self, operation: str, path: str, line: int) -> None:
        shell_rules.read(path, line, self._findings)
        if operation in ("symlink", "link") and kind(path) is not Place.WORKSPACE:
            self._findings.add(shell_rules.WRITE_OUTSIDE, line, f"{operation} to {path}")

    def _chmod(self, args: list[Node], line: int) -> None:
        mode = _mode(args[1]) if len(args) > 1 else None
        if mode is not None and mode & 0o6000:
            self._findings.add(shell_rules.SETUID, line, text_of(args[1]))
        path = self._path(args[0], partial=True) if args else None
        if path is not None and kind(path) in _GUARDED:
            self._findings.add(shell_rules.CHMOD_SYSTEM, line, path)

    def _path(self, node: Node, *, partial: bool = False) -> str | None:
        """The path ``node`` names; with ``partial``, also how a computed path starts, then ``_UNKNOWN``."""
        path = self._values.fold(node)
        if path is None and partial:
            start = self._values.prefix(node)
            path = start + _UNKNOWN if start else None
        return None if path is None else path.removeprefix("file://")

    def _opens_for_writing(self, args: list[Node]) -> bool:
        flags = self._values.fold(args[1]) if len(args) > 1 else "r"
        return flags is None or any(flag in flags for flag in "wa+")


def _mode(node: Node) -> int | None:
    """A file mode: a number literal (``0o4755``, legacy ``04755``) or an octal string (``'4755'``)."""
    text = text_of(node).strip("'\"`").replace("_", "").lower()
    try:
        if node.type != "number" or (text.startswith("0") and text.isdigit()):
            return int(text, 8)
        return int(text, 0)
    except ValueError:
        return None
