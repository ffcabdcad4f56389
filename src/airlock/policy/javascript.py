"""The JavaScript analyzer: reads a Node.js script before it runs and names what it does that is risky.

One walk over the tree-sitter syntax tree collects the facts (calls, members, declarations, imports),
``Scope`` resolves what the names hold, and ``Judge`` reports each risky thing with its pattern (see
``js_patterns``). Commands passed to ``child_process`` as literals are judged by the shell analyzer;
string literals passed to ``eval`` and kin are analyzed as JavaScript in turn. What cannot be known
before it runs (a computed command, module name or code) is itself a finding: the engine denies on doubt.
"""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node, Parser, TreeCursor

from airlock.policy import js_patterns
from airlock.policy.js_grammar import FIELD, LANGUAGE, text_of
from airlock.policy.js_judges import Judge
from airlock.policy.js_scope import Facts, Scope
from airlock.policy.patterns import Findings

__all__ = ["analyze"]

_WATCHED = frozenset(
    {b"exec", b"execSync", b"spawn", b"spawnSync", b"execFile", b"execFileSync", b"fork", b"eval", b"Function"}
    | {b"env", b"constructor", b"binding", b"dlopen", b"_linkedBinding"}
)
#: The names whose every use the judge looks at (eval passed around is eval all the same), and the
#: words that start them, searched for in the source.
_NAMES = frozenset({b"eval", b"Function", b"exec", b"execSync", b"spawn", b"spawnSync", b"execFile"})
_NAMES |= {b"execFileSync", b"fork"}
_STEMS = (b"eval", b"Function", b"exec", b"spawn", b"fork")
_WATCHED_STEMS = (*_STEMS, b"env", b"constructor", b"binding", b"dlopen", b"_linkedBinding")
#: The type of each kind of node, by kind id: cheaper than asking each node for its type.
_KINDS = tuple(LANGUAGE.node_kind_for_id(kind) or "" for kind in range(LANGUAGE.node_kind_count))
_Collector = Callable[[Facts, Node], None]


def analyze(code: str, findings: Findings) -> None:
    """Judge ``code`` as a Node.js script; add what it does that is risky to ``findings``."""
    source = code.encode("utf-8", "replace")
    tree = Parser(LANGUAGE).parse(source)
    root = tree.root_node
    facts = _collect(tree.walk(), _collectors(source))
    facts.names = _find(root, source, _STEMS, _NAMES, "identifier")
    facts.members += _members(root, source)
    judge = Judge(findings, Scope(facts), facts)
    judge.all(facts)
    if root.has_error:
        error = _first_error(root)
        judge.report(js_patterns.UNPARSED, error, (error.text or b"")[:40].decode("utf-8", "replace"))


# -- the walk ----------------------------------------------------------------------------------------


def _collectors(source: bytes) -> dict[str, _Collector]:
    """What to collect from a script: strings only when it names child_process at all."""
    return {**_COLLECTORS, "string": _string} if b"child_process" in source else _COLLECTORS


def _collect(cursor: TreeCursor, collectors: dict[str, _Collector]) -> Facts:
    """Walk the tree once, in document order and without recursion, collecting what the judges need.

    Every node collected has children, so only nodes with children are looked at: leaves (names,
    punctuation, literals' text), most of a tree, are passed without making a Python object of them.
    """
    facts = Facts()
    down, up, across = cursor.goto_first_child, cursor.goto_parent, cursor.goto_next_sibling
    while True:
        if down():
            up()
            node = cursor.node  # ERROR nodes have a kind beyond the grammar's own
            if node is not None and node.kind_id < len(_KINDS) and (collect := collectors.get(_KINDS[node.kind_id])):
                collect(facts, node)
            down()
            continue
        while not across():
            if not up():
                return facts


def _find(root: Node, source: bytes, stems: tuple[bytes, ...], names: frozenset[bytes], kind: str) -> list[Node]:
    """The nodes of type ``kind`` named one of ``names``, found from where their text (which starts
    with one of ``stems``) is in the source: cheaper than looking at every name in the tree."""
    found = []
    for stem in stems:
        start = source.find(stem)
        while start >= 0:
            node = root.descendant_for_byte_range(start, start + len(stem))
            if node is not None and node.start_byte == start and node.type == kind and node.text in names:
                found.append(node)
            start = source.find(stem, start + len(stem))
    return found


def _members(root: Node, source: bytes) -> list[Node]:
    """The member expressions ``x.name`` whose name the judge watches (``x.exec``, ``process.env``)."""
    properties = _find(root, source, _WATCHED_STEMS, _WATCHED, "property_identifier")
    members = (node.parent for node in properties)
    return [node for node in members if node is not None and node.type == "member_expression"]


def _call(facts: Facts, node: Node) -> None:
    facts.calls.append(node)


def _block(facts: Facts, node: Node) -> None:
    facts.blocks.append(node)


def _subscript(facts: Facts, node: Node) -> None:
    facts.members.append(node)


def _declarator(facts: Facts, node: Node) -> None:
    name, value = node.child_by_field_id(FIELD.name), node.child_by_field_id(FIELD.value)
    if name is None:
        return
    if name.type == "identifier":
        facts.declare(text_of(name), value)
    else:
        facts.bindings.append(text_of(name))
    if value is not None:
        facts.decls.append((name, value))


def _assignment(facts: Facts, node: Node) -> None:
    left, right = node.child_by_field_id(FIELD.left), node.child_by_field_id(FIELD.right)
    if left is not None and left.type in ("object_pattern", "array_pattern"):
        facts.bindings.append(text_of(left))
    if left is None or left.type != "identifier":
        return
    facts.rebound.add(text_of(left))
    if right is not None and node.type == "assignment_expression":
        facts.decls.append((left, right))


def _declaration(facts: Facts, node: Node) -> None:
    name = node.child_by_field_id(FIELD.name)
    if name is not None:
        facts.declare(text_of(name))


def _parameters(facts: Facts, node: Node) -> None:
    facts.bindings.append(text_of(node))


def _parameter(facts: Facts, node: Node) -> None:
    """The one parameter of ``x => ...`` and of ``catch (e)``; the loop variable of ``for (x of ...)``."""
    if node.type in ("for_in_statement", "catch_clause"):
        facts.blocks.append(node)
    bound = node.child_by_field_id(FIELD.left if node.type == "for_in_statement" else FIELD.parameter)
    if bound is not None:
        facts.bindings.append(text_of(bound))


def _import(facts: Facts, node: Node) -> None:
    if node.child_by_field_id(FIELD.source) is not None:
        facts.imports.append(node)


def _string(facts: Facts, node: Node) -> None:
    facts.strings.append(node)


_COLLECTORS: dict[str, _Collector] = {
    "call_expression": _call,
    "new_expression": _call,
    "subscript_expression": _subscript,
    "variable_declarator": _declarator,
    "assignment_expression": _assignment,
    "augmented_assignment_expression": _assignment,
    "function_declaration": _declaration,
    "generator_function_declaration": _declaration,
    "class_declaration": _declaration,
    "formal_parameters": _parameters,
    "arrow_function": _parameter,
    "catch_clause": _parameter,
    "for_in_statement": _parameter,
    "import_statement": _import,
    "export_statement": _import,
    **dict.fromkeys(("for_statement", "while_statement", "do_statement", "if_statement"), _block),
    "ternary_expression": _block,
}


def _first_error(root: Node) -> Node:
    """The first ERROR or MISSING node, found by following the children that contain one."""
    node = root
    while True:
        child = next((c for c in node.children if c.is_error or c.is_missing or c.has_error), None)
        if child is None or child.is_error or child.is_missing:
            return child or node
        node = child
