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
from airlock.policy.js_grammar import FIELD, LANGUAGE, kind_ids, name_bytes, text_of
from airlock.policy.js_judges import Judge
from airlock.policy.js_scope import Facts, Scope
from airlock.policy.patterns import Findings

__all__ = ["analyze"]

_WATCHED = frozenset(
    {b"exec", b"execSync", b"spawn", b"spawnSync", b"execFile", b"execFileSync", b"fork", b"eval", b"Function"}
    | {b"env", b"constructor", b"binding", b"dlopen", b"_linkedBinding"}
)
#: The names whose every use the judge looks at (eval passed around is eval all the same), and the
#: words that start them or a watched member's name, searched for in the source.
_NAMES = frozenset({b"eval", b"Function", b"exec", b"execSync", b"spawn", b"spawnSync", b"execFile"})
_NAMES |= {b"execFileSync", b"fork"}
_STEMS: tuple[bytes, ...] = (b"eval", b"Function", b"exec", b"spawn", b"fork")
_STEMS += (b"env", b"constructor", b"binding", b"dlopen", b"_linkedBinding")
_IDENTIFIER = kind_ids("identifier")
_PROPERTY = kind_ids("property_identifier")
_MEMBER = kind_ids("member_expression")
_Collector = Callable[[Facts, Node], None]


def analyze(code: str, findings: Findings) -> None:
    """Judge ``code`` as a Node.js script; add what it does that is risky to ``findings``."""
    source = code.encode("utf-8", "replace")
    tree = Parser(LANGUAGE).parse(source)
    root = tree.root_node
    facts = _collect(tree.walk(), _WITH_STRINGS if b"child_process" in source else _COLLECTORS)
    _find_names(root, source, facts)
    judge = Judge(findings, Scope(facts), facts)
    judge.all(facts)
    if root.has_error:
        error = _first_error(root)
        judge.report(js_patterns.UNPARSED, error, (error.text or b"")[:40].decode("utf-8", "replace"))


# -- the walk ----------------------------------------------------------------------------------------


def _collect(cursor: TreeCursor, collectors: dict[int, _Collector]) -> Facts:
    """Walk the tree once, in document order and without recursion, collecting what the judges need.

    Every node collected has children, so only nodes with children are looked at: leaves (names,
    punctuation, literals' text), most of a tree, are passed without making a Python object of them,
    and the walk does not go down into a node whose children are all leaves (``a.b``, ``'s'``).
    Collectors are keyed by kind id, so a node of no interest costs one dict miss.
    """
    facts = Facts()
    down, up, across = cursor.goto_first_child, cursor.goto_parent, cursor.goto_next_sibling
    collector = collectors.get
    while True:
        if down():
            up()
            node = cursor.node
            if node is not None and (collect := collector(node.kind_id)):
                collect(facts, node)
            if node is None or node.descendant_count > node.child_count + 1:  # itself, children and more
                down()
                continue
        while not across():
            if not up():
                return facts


def _find_names(root: Node, source: bytes, facts: Facts) -> None:
    """Add to ``facts`` the identifiers named one of ``_NAMES`` and the member expressions ``x.name``
    whose name the judge watches (``x.exec``, ``process.env``), found from where their text is in the
    source (one search per stem for both): cheaper than looking at every name in the tree."""
    for stem in _STEMS:
        start = source.find(stem)
        while start >= 0:
            node = root.descendant_for_byte_range(start, start + len(stem))
            if node is not None and node.start_byte == start:
                kind = node.kind_id
                if kind in _IDENTIFIER and node.text in _NAMES:
                    facts.names.append(node)
                elif kind in _PROPERTY and node.text in _WATCHED:
                    parent = node.parent
                    if parent is not None and parent.kind_id in _MEMBER:
                        facts.members.append(parent)
            start = source.find(stem, start + len(stem))


def _call(facts: Facts, node: Node) -> None:
    """A call with its callee and the callee's name, read now, while the node is at hand."""
    callee = node.child_by_field_id(FIELD.function) or node.child_by_field_id(FIELD.constructor)
    if callee is not None:
        facts.calls.append((node, callee, name_bytes(callee)))


def _block(facts: Facts, node: Node) -> None:
    facts.blocks.append(node)


def _subscript(facts: Facts, node: Node) -> None:
    facts.members.append(node)


def _declarator(facts: Facts, node: Node) -> None:
    name, value = node.child_by_field_id(FIELD.name), node.child_by_field_id(FIELD.value)
    if name is None:
        return
    if name.kind_id in _IDENTIFIER:
        facts.declare(text_of(name), value)
    else:
        facts.bindings.append(text_of(name))
    if value is not None:
        facts.decls.append((name, value))


def _assignment(facts: Facts, node: Node) -> None:
    left, right = node.child_by_field_id(FIELD.left), node.child_by_field_id(FIELD.right)
    if left is None:
        return
    if left.kind_id in _PATTERNS:
        facts.bindings.append(text_of(left))
    if left.kind_id not in _IDENTIFIER:
        return
    facts.rebound.add(text_of(left))
    if right is not None and node.kind_id in _ASSIGNMENT:
        facts.decls.append((left, right))


def _declaration(facts: Facts, node: Node) -> None:
    name = node.child_by_field_id(FIELD.name)
    if name is not None:
        facts.declare(text_of(name))


def _parameters(facts: Facts, node: Node) -> None:
    facts.bindings.append(text_of(node))


def _parameter(facts: Facts, node: Node) -> None:
    """The one parameter of ``x => ...`` and of ``catch (e)``; the loop variable of ``for (x of ...)``."""
    kind = node.kind_id
    if kind in _FOR_IN or kind in _CATCH:
        facts.blocks.append(node)
    bound = node.child_by_field_id(FIELD.left if kind in _FOR_IN else FIELD.parameter)
    if bound is not None:
        facts.bindings.append(text_of(bound))


def _import(facts: Facts, node: Node) -> None:
    if node.child_by_field_id(FIELD.source) is not None:
        facts.imports.append(node)


def _string(facts: Facts, node: Node) -> None:
    """A string literal that can say ``child_process``: it does in its text, or has escapes (or an
    error) that folding reads differently. Looked at now, while the node is at hand."""
    facts.any_string = True
    text = node.text or b""
    if b"child_process" in text or b"\\" in text or node.has_error:
        facts.strings.append(node)


_BY_TYPE: dict[str, _Collector] = {
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
_PATTERNS = kind_ids("object_pattern", "array_pattern")
_ASSIGNMENT = kind_ids("assignment_expression")
_FOR_IN = kind_ids("for_in_statement")
_CATCH = kind_ids("catch_clause")
#: What to collect, by kind id; strings only when a script names child_process at all.
_COLLECTORS = {kind: collect for name, collect in _BY_TYPE.items() for kind in kind_ids(name)}
_WITH_STRINGS = {**_COLLECTORS, **dict.fromkeys(kind_ids("string"), _string)}


def _first_error(root: Node) -> Node:
    """The first ERROR or MISSING node, found by following the children that contain one."""
    node = root
    while True:
        child = next((c for c in node.children if c.is_error or c.is_missing or c.has_error), None)
        if child is None or child.is_error or child.is_missing:
            return child or node
        node = child
