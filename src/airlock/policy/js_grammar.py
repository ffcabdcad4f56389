"""The JavaScript grammar (tree-sitter's), and small readings of its nodes that every part of the
JavaScript analyzer uses."""

from __future__ import annotations

from dataclasses import dataclass, fields

import tree_sitter_javascript
from tree_sitter import Language, Node

__all__ = [
    "FIELD",
    "LANGUAGE",
    "Fields",
    "args_of",
    "called_name",
    "kind_ids",
    "last_name",
    "line_of",
    "name_bytes",
    "receiver_of",
    "text_of",
]

#: The JavaScript grammar (immutable, so one for the process).
LANGUAGE = Language(tree_sitter_javascript.language())


@dataclass(frozen=True, slots=True)
class Fields:
    """The ids of the grammar's field names: ``node.child_by_field_id(FIELD.object)`` is a lot faster than
    ``node.child_by_field_name("object")``."""

    alias: int
    arguments: int
    condition: int
    constructor: int
    function: int
    index: int
    key: int
    left: int
    name: int
    object: int
    operator: int
    property: int
    right: int
    source: int
    value: int
    parameter: int


def _field_id(name: str) -> int:
    field_id = LANGUAGE.field_id_for_name(name)
    if field_id is None:
        raise LookupError(f"the JavaScript grammar has no field {name!r}")
    return field_id


FIELD = Fields(**{field.name: _field_id(field.name) for field in fields(Fields)})


def kind_ids(*names: str) -> frozenset[int]:
    """The ids of node types ``names``: ``node.kind_id in ids`` is ``node.type in names`` without
    making a string of the node's type (a type can have more than one id, one per alias)."""
    count = LANGUAGE.node_kind_count
    return frozenset(kind for kind in range(count) if LANGUAGE.node_kind_for_id(kind) in names)


_IDENTIFIER = kind_ids("identifier")
_MEMBER = kind_ids("member_expression")
_ARGUMENTS = kind_ids("arguments")
_COMMENT = kind_ids("comment")


def text_of(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def line_of(node: Node) -> int:
    return node.start_point.row + 1


def args_of(call: Node) -> list[Node]:
    """The arguments of a call or new expression (none for a tagged template)."""
    arguments = call.child_by_field_id(FIELD.arguments)
    if arguments is None or arguments.kind_id not in _ARGUMENTS:
        return []
    return [arg for arg in arguments.named_children if arg.kind_id not in _COMMENT]


def called_name(call: Node) -> str | None:
    """``f`` in ``f(x)`` and in ``a.f(x)``."""
    function = call.child_by_field_id(FIELD.function)
    return None if function is None else last_name(function)


def last_name(node: Node) -> str | None:
    """``f`` of ``f`` and of ``a.f``; None for what has no plain name (``a[f]``, ``f()``)."""
    kind = node.kind_id
    if kind in _IDENTIFIER:
        return text_of(node)
    prop = node.child_by_field_id(FIELD.property) if kind in _MEMBER else None
    return None if prop is None else text_of(prop)


def receiver_of(call: Node) -> Node | None:
    """``a`` in ``a.f(x)``."""
    function = call.child_by_field_id(FIELD.function)
    return function.child_by_field_id(FIELD.object) if function and function.kind_id in _MEMBER else None


def name_bytes(node: Node) -> bytes | None:
    """``last_name`` as bytes, undecoded: for the hot paths that only compare it with known names."""
    kind = node.kind_id
    if kind in _IDENTIFIER:
        return node.text
    if kind in _MEMBER:
        prop = node.child_by_field_id(FIELD.property)
        return None if prop is None else prop.text
    return None
