"""How each language runs. Adding a language is one entry in ``LANGUAGES``.

A language either has a persistent REPL in the agent (``repl``: Python, node, bash), or runs a source
file (``run``), optionally compiled first (``compile``; the agent caches builds by content hash).
Placeholders: ``{file}`` the source file, ``{exe}`` the compiled program, ``{scratch}`` the
sandbox's scratch directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from airlock.errors import UnknownLanguage

__all__ = ["COMMAND", "LANGUAGES", "Language", "get_language", "language_for_path"]

COMMAND = "command"


@dataclass(frozen=True)
class Language:
    name: str
    suffixes: tuple[str, ...]
    requires: tuple[str, ...]
    package: str
    aliases: tuple[str, ...] = ()
    repl: str | None = None
    run: tuple[str, ...] = ()
    compile: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    noop: str | None = None  # code that does nothing, to start the REPL ahead of the first real exec

    def plan(self, code: str, repl_context: str | None) -> dict[str, Any]:
        """The agent's instructions for running ``code``: a REPL context, a fork, or a recipe."""
        if self.repl is not None and repl_context is not None:
            return {"mode": "repl", "repl": self.repl, "context": repl_context, "code": code}
        if self.name == "python":
            return {"mode": "python", "code": code}
        recipe = {"suffix": self.suffixes[0], "run": list(self.run), "compile": self.compile and list(self.compile)}
        return {"mode": "recipe", "code": code, "recipe": {**recipe, "env": dict(self.env)}}


LANGUAGES: dict[str, Language] = {
    lang.name: lang
    for lang in (
        Language("python", (".py",), ("python3",), "python3", aliases=("py", "python3"), repl="python", noop="pass"),
        Language(
            "javascript",
            (".js", ".cjs"),
            ("node",),
            "nodejs",
            aliases=("js", "node", "nodejs"),
            repl="node",
            run=("node", "{file}"),
            noop="undefined",
        ),
        Language(
            "bash",
            (".sh", ".bash"),
            ("bash",),
            "bash",
            aliases=("sh", "shell"),
            repl="bash",
            run=("bash", "{file}"),
            noop=":",
        ),
        Language(
            "rust",
            (".rs",),
            ("rustc", "cc"),
            "rustc",
            aliases=("rs",),
            compile=("rustc", "--edition", "2021", "-C", "debuginfo=0", "-o", "{exe}", "{file}"),
            run=("{exe}",),
        ),
        Language(
            "go",
            (".go",),
            ("go",),
            "golang-go",
            aliases=("golang",),
            compile=("go", "build", "-o", "{exe}", "{file}"),
            run=("{exe}",),
            env={"GOCACHE": "{scratch}/go-cache", "GOPATH": "{scratch}/go", "GO111MODULE": "auto"},
        ),
    )
}

_BY_ALIAS = {alias: lang for lang in LANGUAGES.values() for alias in (lang.name, *lang.aliases)}
_BY_SUFFIX = {suffix: lang for lang in LANGUAGES.values() for suffix in lang.suffixes}


def get_language(name: str) -> Language:
    try:
        return _BY_ALIAS[name.lower()]
    except KeyError:
        known = ", ".join(sorted(LANGUAGES))
        raise UnknownLanguage(f"unknown language {name!r}; known: {known} (or '{COMMAND}' for an argv)") from None


def language_for_path(path: str) -> Language:
    suffix = PurePath(path).suffix.lower()
    try:
        return _BY_SUFFIX[suffix]
    except KeyError:
        raise UnknownLanguage(f"cannot tell the language of {path!r} from its suffix; pass --language") from None
