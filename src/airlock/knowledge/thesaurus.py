"""A thesaurus: the terms of a domain, each naming a concept (Terraphim's data model and JSON).

Several terms (synonyms) share one concept; the concept's own name (``nterm``) is a term only
when the data lists it as one. Terms and concept names are normalised: stripped and case-folded
(``str.casefold``, so ``"Straße"`` and ``"STRASSE"`` are one term). The JSON format::

    {"name": "Engineer",
     "data": {"npm install":  {"id": 1, "nterm": "bun install", "display_value": "bun install"},
              "yarn install": {"id": 1, "nterm": "bun install"},
              "rust":         {"id": 2, "nterm": "rust programming", "url": "https://rust-lang.org"}}}

Other fields of an entry (``action``, ``priority``, ``trigger``, ``pinned``) are read past. A
concept's ``display`` and ``url`` are the first given by any of its entries.

Conflicts are errors, never resolved silently: a term that means two concepts (in one file, or
across thesauri being merged), an id given to two concept names, or a name given two ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airlock.errors import ConfigError

__all__ = ["Concept", "Thesaurus", "load_json", "merge", "normalize", "parse_json"]


def normalize(term: str) -> str:
    """A term as thesauri store and match it: stripped, case-folded."""
    return term.strip().casefold()


@dataclass(frozen=True, slots=True)
class Concept:
    """One idea of the domain; ``nterm`` is its normalised name, ``display`` how to show it."""

    id: int
    nterm: str
    display: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "nterm", normalize(self.nterm))
        if not self.nterm:
            raise ConfigError(f"concept {self.id} has an empty name")

    @property
    def label(self) -> str:
        """How to show it: the display value, else the name."""
        return self.display or self.nterm


@dataclass(frozen=True)
class Thesaurus:
    """Terms (normalised keys) to the concepts they name."""

    name: str
    terms: Mapping[str, Concept] = field(default_factory=dict)

    def __post_init__(self) -> None:
        normalized: dict[str, Concept] = {}
        for term, concept in self.terms.items():
            key = normalize(term)
            if not key:
                raise ConfigError(f"thesaurus {self.name!r}: an empty term (for {concept.nterm!r})")
            if normalized.get(key, concept) != concept:
                raise ConfigError(
                    f"thesaurus {self.name!r}: term {key!r} means both {normalized[key].nterm!r} and {concept.nterm!r}"
                )
            normalized[key] = concept
        object.__setattr__(self, "terms", normalized)

    def __len__(self) -> int:
        return len(self.terms)

    @property
    def concepts(self) -> list[Concept]:
        """Each concept once, by id."""
        return sorted(set(self.terms.values()), key=lambda concept: (concept.id, concept.nterm))

    def resolve(self, name: str) -> Concept | None:
        """The concept that ``name`` means: a term, or a concept's own name; None when unknown."""
        key = normalize(name)
        if key in self.terms:
            return self.terms[key]
        return next((concept for concept in self.terms.values() if concept.nterm == key), None)

    def synonyms(self, concept: Concept) -> list[str]:
        """The terms that mean ``concept``, sorted."""
        return sorted(term for term, meant in self.terms.items() if meant == concept)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The thesaurus in Terraphim's JSON format (terms sorted)."""
        data: dict[str, dict[str, Any]] = {}
        for term in sorted(self.terms):
            concept = self.terms[term]
            entry: dict[str, Any] = {"id": concept.id, "nterm": concept.nterm}
            if concept.display is not None:
                entry["display_value"] = concept.display
            if concept.url is not None:
                entry["url"] = concept.url
            data[term] = entry
        return json.dumps({"name": self.name, "data": data}, indent=indent, ensure_ascii=False)


def load_json(path: str | Path) -> Thesaurus:
    """Read a thesaurus file in Terraphim's JSON format; ``ConfigError`` naming the file (and the
    line, for a syntax error) when it cannot be used."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the thesaurus: {exc}") from exc
    return parse_json(text, source=str(path))


def parse_json(text: str, *, source: str = "<string>") -> Thesaurus:
    """A thesaurus from JSON text; ``source`` names it in errors."""
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
    except _DuplicateKey as exc:
        raise ConfigError(f"{source}: the key {exc.args[0]!r} appears twice in one object") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: a thesaurus is a JSON object with 'name' and 'data'")
    name, data = document.get("name"), document.get("data")
    if not isinstance(name, str):
        raise ConfigError(f"{source}: 'name' is missing or not a string")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: 'data' is missing or not an object of term -> concept")
    return Thesaurus(name, _concepts(data, source))


class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object of the JSON document; a key given twice would silently drop one of its values."""
    document = dict(pairs)
    if len(document) != len(pairs):
        keys = [key for key, _ in pairs]
        raise _DuplicateKey(next(key for key in keys if keys.count(key) > 1))
    return document


def _concepts(data: dict[str, Any], source: str) -> dict[str, Concept]:
    """Each term's concept, one ``Concept`` per id (display and url: the first given)."""
    fields: dict[int, dict[str, Any]] = {}
    ids: dict[str, int] = {}  # concept name -> its id
    for term, entry in data.items():
        id_, nterm, display, url = _entry(term, entry, source)
        first = fields.setdefault(id_, {"nterm": nterm, "display": display, "url": url})
        if first["nterm"] != nterm:
            raise ConfigError(f"{source}: id {id_} names both {first['nterm']!r} and {nterm!r} (term {term!r})")
        if ids.setdefault(nterm, id_) != id_:
            raise ConfigError(f"{source}: concept {nterm!r} has two ids, {ids[nterm]} and {id_} (term {term!r})")
        first["display"] = first["display"] or display
        first["url"] = first["url"] or url
    concepts = {id_: Concept(id_, **values) for id_, values in fields.items()}
    terms: dict[str, Concept] = {}
    for term, entry in data.items():
        key = normalize(term)
        if not key:
            raise ConfigError(f"{source}: an empty term (for concept {entry['nterm']!r})")
        concept = concepts[entry["id"]]
        if terms.get(key, concept) != concept:
            raise ConfigError(f"{source}: term {key!r} means both {terms[key].nterm!r} and {concept.nterm!r}")
        terms[key] = concept
    return terms


def _entry(term: str, entry: object, source: str) -> tuple[int, str, str | None, str | None]:
    where = f"{source}: term {term!r}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: an entry is an object with 'id' and 'nterm'")
    for required in ("id", "nterm"):
        if required not in entry:
            raise ConfigError(f"{where}: missing {required!r}")
    id_, nterm = entry["id"], entry["nterm"]
    if not isinstance(id_, int) or isinstance(id_, bool) or id_ < 0:
        raise ConfigError(f"{where}: 'id' must be a non-negative integer, not {id_!r}")
    if not isinstance(nterm, str) or not normalize(nterm):
        raise ConfigError(f"{where}: 'nterm' must be a non-empty string, not {nterm!r}")
    optional = []
    for key in ("display_value", "url"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {key!r} must be a string, not {value!r}")
        optional.append(value)
    return id_, normalize(nterm), optional[0], optional[1]


def merge(thesauri: Iterable[Thesaurus], *, name: str | None = None) -> Thesaurus:
    """One thesaurus with the terms of all. A concept is known by its name: the same name in
    two thesauri is one concept (display and url from the first that gives them), and the merged
    concepts are numbered 1..n in the order of their names, whatever the inputs' ids were. A term
    that means different concepts in two thesauri is a ``ConfigError``."""
    thesauri = list(thesauri)
    names: dict[str, tuple[str, Concept]] = {}  # term -> (thesaurus, concept name and details)
    details: dict[str, Concept] = {}  # concept name -> the first concept of that name
    for thesaurus in thesauri:
        for term, concept in thesaurus.terms.items():
            seen = names.setdefault(term, (thesaurus.name, concept))
            if seen[1].nterm != concept.nterm:
                raise ConfigError(
                    f"term {term!r} means {seen[1].nterm!r} in thesaurus {seen[0]!r} "
                    f"and {concept.nterm!r} in {thesaurus.name!r}"
                )
            first = details.setdefault(concept.nterm, concept)
            details[concept.nterm] = Concept(
                first.id, first.nterm, first.display or concept.display, first.url or concept.url
            )
    renumbered = {
        nterm: Concept(number, nterm, concept.display, concept.url)
        for number, (nterm, concept) in enumerate(sorted(details.items()), start=1)
    }
    terms = {term: renumbered[concept.nterm] for term, (_, concept) in names.items()}
    return Thesaurus(name or "+".join(t.name for t in thesauri), terms)
