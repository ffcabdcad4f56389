"""A thesaurus built from a folder of markdown concept files (Logseq style, as Terraphim does).

Each ``*.md`` file under the folder (sub-folders too; hidden ones skipped) is one concept::

    devops/npm install.md
        # npm install                                  <- display: the first heading (else the stem)
        synonyms:: npm i, yarn install, pnpm install   <- each a term meaning this concept

The concept's name is the file stem, normalised, and is a term too. Two files with the same stem
are one concept (their synonyms together; display from the first, in path order). Ids are 1..n in
the order of concept names, so the same folder always gives the same ids. A term that two concepts
claim is a ``ConfigError`` naming both files. Lines inside fenced code blocks are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from airlock.errors import ConfigError
from airlock.knowledge.thesaurus import Concept, Thesaurus, normalize

__all__ = ["from_markdown"]

_HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+?)\s*#*\s*$")
_SYNONYMS = re.compile(r"^\s*(?:[-*]\s+)?synonyms::(?P<list>.*)$", re.IGNORECASE)
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass
class _Draft:
    """A concept while its files are read: its display and where each of its terms came from."""

    display: str | None = None
    terms: dict[str, str] = field(default_factory=dict)  # term -> "file:line"


def from_markdown(directory: str | Path, *, name: str | None = None) -> Thesaurus:
    """The thesaurus of the concept files under ``directory`` (named after the folder unless
    ``name`` is given); ``ConfigError`` when the folder is missing or a file cannot be used."""
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError(f"{root}: not a folder of markdown concept files")
    drafts: dict[str, _Draft] = {}
    for path in _concept_files(root):
        nterm = normalize(path.stem)
        if not nterm:
            raise ConfigError(f"{path}: the file name gives no concept name")
        draft = drafts.setdefault(nterm, _Draft())
        draft.terms.setdefault(nterm, str(path))
        _read(path, draft)
    return Thesaurus(name or root.resolve().name, _terms(drafts))


def _concept_files(root: Path) -> list[Path]:
    files = (path for path in root.rglob("*.md") if path.is_file())
    visible = (path for path in files if not any(part.startswith(".") for part in path.relative_to(root).parts))
    return sorted(visible, key=lambda path: path.relative_to(root).as_posix())


def _read(path: Path, draft: _Draft) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the concept file: {exc}") from exc
    heading, fenced = None, False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and heading is None and (match := _HEADING.match(line)):
            heading = match["text"]
        elif not fenced and (match := _SYNONYMS.match(line)):
            for synonym in match["list"].split(","):
                if term := normalize(synonym):
                    draft.terms.setdefault(term, f"{path}:{number}")
    if draft.display is None:
        draft.display = heading or path.stem


def _terms(drafts: dict[str, _Draft]) -> dict[str, Concept]:
    terms: dict[str, Concept] = {}
    origins: dict[str, str] = {}
    for number, nterm in enumerate(sorted(drafts), start=1):
        draft = drafts[nterm]
        concept = Concept(number, nterm, draft.display)
        for term, origin in draft.terms.items():
            if term in terms:
                raise ConfigError(
                    f"{origin}: {term!r} is a term of {nterm!r} and of {terms[term].nterm!r} ({origins[term]})"
                )
            terms[term], origins[term] = concept, origin
    return terms
