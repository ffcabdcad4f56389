"""What the names of one JavaScript script hold: which module, which module function, which ``require``.

``Facts`` is what one walk over the syntax tree collected; ``Scope`` resolves its declarations in order
and answers, for a callee or a member expression, whose member it is: ``("child_process", "exec")``,
``("", "eval")`` for a global, ``("?", "exec")`` for a method of something unknown. Scopes are flat (one
namespace per script): a name bound twice, or also bound as a parameter, is not trusted as a constant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tree_sitter import Node

from airlock.policy.js_grammar import FIELD, args_of, called_name, kind_ids, last_name, name_bytes, receiver_of, text_of
from airlock.policy.js_values import Values

__all__ = ["GLOBAL_OBJECTS", "Call", "Facts", "Scope", "module_name", "unwrap"]

_Target = tuple[str, str]
#: A call or new expression, what it calls, and that callee's name (``name_bytes``).
Call = tuple[Node, Node, bytes | None]

GLOBAL_OBJECTS = frozenset({"global", "globalThis", "window", "self", "frames"})
#: Unbound names taken for the module they usually hold: a REPL context keeps earlier bindings.
_USUAL = {"fs": "fs", "fsp": "fs", "fse": "fs", "fsPromises": "fs", "cp": "child_process", "vm": "vm"}
_USUAL |= {name: name for name in ("child_process", "net", "tls", "dgram", "os", "path", "process")}
_USUAL |= {"childProcess": "child_process"}
_WITH_SUBPATHS = frozenset({"fs", "dns", "timers", "stream", "util", "path", "readline", "assert", "inspector"})
_ALIASES = {"fs-extra": "fs", "graceful-fs": "fs", "process": "process"}
_EXEC_NAMES = frozenset({"exec", "execSync", "spawn", "spawnSync", "execFile", "execFileSync", "fork"})
_MAX_DEPTH = 64
_CALL = kind_ids("call_expression")
_IDENTIFIER = kind_ids("identifier")
_IMPORT = kind_ids("import")
_MEMBER = kind_ids("member_expression")
_MEMBERS = _MEMBER | kind_ids("subscript_expression")
_BINDABLE = _IDENTIFIER | _MEMBERS | _CALL
_WRAPPERS = kind_ids("parenthesized_expression", "sequence_expression", "await_expression")
_LOADERS = frozenset({b"require", b"_load"})
#: The functions whose result can be a module (``require``), a module function or a require.
_BINDING_CALLS = frozenset({b"require", b"_load", b"createRequire", b"promisify", b"bind"})


@dataclass
class Facts:
    """What one walk over a script's syntax tree found, for ``Scope`` and the judges."""

    calls: list[Call] = field(default_factory=list)  #: call and new expressions
    members: list[Node] = field(default_factory=list)  #: member (watched names) and subscript expressions
    names: list[Node] = field(default_factory=list)  #: identifiers of eval, Function and the exec functions
    imports: list[Node] = field(default_factory=list)  #: import statements and export-from statements
    decls: list[tuple[Node, Node]] = field(default_factory=list)  #: (name or pattern, value), in order
    consts: dict[str, Node] = field(default_factory=dict)  #: name -> the value it is declared with
    declared: set[str] = field(default_factory=set)  #: every name a declaration binds
    rebound: set[str] = field(default_factory=set)  #: names declared twice or assigned to
    bindings: list[str] = field(default_factory=list)  #: text of parameter lists and patterns
    strings: list[Node] = field(default_factory=list)  #: string literals that may say child_process
    any_string: bool = False  #: whether a script that names child_process has string literals at all
    blocks: list[Node] = field(default_factory=list)  #: loops and conditionals, to tell what is inside them

    def declare(self, name: str, value: Node | None = None) -> None:
        if name in self.declared:
            self.rebound.add(name)
        self.declared.add(name)
        if value is not None:
            self.consts.setdefault(name, value)


def module_name(spec: str) -> str:
    """The module ``require(spec)`` loads: ``node:fs/promises`` is ``fs``."""
    spec = spec.removeprefix("node:")
    head = spec.split("/", 1)[0]
    return head if head in _WITH_SUBPATHS else _ALIASES.get(spec, spec)


def unwrap(node: Node) -> Node:
    """The expression inside parentheses, ``await`` and the last item of a sequence ``(0, eval)``."""
    for _ in range(_MAX_DEPTH):
        if node.kind_id not in _WRAPPERS:
            break
        children = node.named_children
        if not children:
            break
        node = children[-1]
    return node


class Scope:
    """The names of one script, resolved after the walk that collected ``facts``."""

    def __init__(self, facts: Facts) -> None:
        self.modules: dict[str, str] = {}
        self.functions: dict[str, _Target] = {}
        self.requires: set[str] = set()
        self._bindings = set(re.findall(r"[\w$]+", "\n".join(facts.bindings)))
        self._rebound, self._declared = facts.rebound, facts.declared
        consts = {name: value for name, value in facts.consts.items() if not self._shadowed(name)}
        self.values = Values(consts)
        for statement in facts.imports:
            self._bind_import(statement)
        for name, value in facts.decls:
            self._bind(name, value)

    def bound(self, name: str) -> bool:
        """Whether the script binds ``name`` itself (so it is not a global or a REPL leftover)."""
        return name in self._declared or name in self.modules or name in self.functions or self._shadowed(name)

    def aliases(self) -> set[str]:
        """The names bound to module functions or to ``require``."""
        return set(self.functions) | self.requires

    def uses(self, module: str) -> bool:
        return module in self.modules.values() or any(owner == module for owner, _ in self.functions.values())

    def loads(self, call: Node, name: bytes | None) -> bool:
        """Whether ``call`` loads a module, given its callee's name (``name_bytes``): with a name, a set
        lookup answers (a named callee is neither ``import`` nor wrapped in parentheses)."""
        if name is None:
            return self.loader(call) is not None
        return name in _LOADERS or name.decode("utf-8", "replace") in self.requires

    def loader(self, call: Node) -> str | None:
        """``"require"`` or ``"import"`` when ``call`` loads a module, else None."""
        function = call.child_by_field_id(FIELD.function)
        if function is None:
            return None
        if function.kind_id in _IMPORT:
            return "import"
        function = unwrap(function)
        name = last_name(function)
        if name in ("require", "_load") or name in self.requires:
            return "require"  # also when a parameter is named require: what else is passed in that name
        target = self.callee(function) if name is None else None
        return "require" if target and target[1] in ("require", "_load") and target[0] in ("", "?", "module") else None

    def callee(self, function: Node) -> _Target | None:
        """Whose member the called expression is."""
        function = unwrap(function)
        kind = function.kind_id
        if kind in _IDENTIFIER:
            return self._global(text_of(function))
        if kind in _CALL and called_name(function) == "createRequire":
            return ("", "require")
        if kind in _MEMBERS:
            return self.member(function)
        return None

    def member(self, node: Node) -> _Target | None:
        """Whose member ``node`` (``a.b`` or ``a[b]``) is; None when its name is computed."""
        prop = self.prop(node)
        obj = node.child_by_field_id(FIELD.object)
        if prop is None or obj is None:
            return None
        obj = unwrap(obj)
        if prop == "constructor" and self._reaches_function(obj):
            return ("", "Function")
        if obj.kind_id not in _IDENTIFIER:
            return (self.module_of(obj) or "?", prop)
        name = text_of(obj)
        if name in GLOBAL_OBJECTS and not self.bound(name):
            return ("", prop)
        return (self._module_named(name) or "?", prop)

    def prop(self, node: Node) -> str | None:
        """The name of member ``node``: ``b`` in ``a.b``, the folded index of ``a['b']``."""
        if node.kind_id in _MEMBER:
            prop = node.child_by_field_id(FIELD.property)
            return None if prop is None else text_of(prop)
        return self.values.fold(node.child_by_field_id(FIELD.index))

    def module_of(self, node: Node | None, depth: int = 0) -> str | None:
        """The module ``node`` evaluates to: a bound name, ``require('x')``, ``fs.promises``."""
        if node is None or depth > _MAX_DEPTH:
            return None
        node = unwrap(node)
        kind = node.kind_id
        if kind in _IDENTIFIER:
            return self._module_named(text_of(node))
        if kind in _CALL and self.loader(node):
            spec = self.values.fold(_first_arg(node))
            return None if spec is None else module_name(spec)
        if kind in _MEMBERS:
            return self._module_member(node, depth)
        return None

    def _module_named(self, name: str) -> str | None:
        return self.modules.get(name) or (None if self.bound(name) else _USUAL.get(name))

    def _module_member(self, node: Node, depth: int) -> str | None:
        prop, obj = self.prop(node), node.child_by_field_id(FIELD.object)
        if prop not in ("promises", "default", "process") or obj is None:
            return None
        if prop == "process":
            return prop if text_of(obj) in GLOBAL_OBJECTS else None
        return self.module_of(obj, depth + 1)

    def _global(self, name: str) -> _Target | None:
        if name in self.functions:
            return self.functions[name]
        if name in self.requires:
            return ("", "require")
        if self.bound(name):
            return None
        return ("child_process", name) if name in _EXEC_NAMES else ("", name)

    def _bind_import(self, statement: Node) -> None:
        source = statement.child_by_field_id(FIELD.source)
        spec = None if source is None else self.values.fold(source)
        clause = next((c for c in statement.named_children if c.type == "import_clause"), None)
        if spec is None or clause is None:
            return
        module = module_name(spec)
        for child in clause.named_children:
            if child.type in ("identifier", "namespace_import"):
                self.modules[text_of(child).split()[-1]] = module
            for specifier in child.named_children if child.type == "named_imports" else []:
                name, alias = specifier.child_by_field_id(FIELD.name), specifier.child_by_field_id(FIELD.alias)
                if name is not None:
                    self._bind_member(text_of(alias or name), module, text_of(name))

    def _bind(self, name: Node, value: Node) -> None:
        if name.kind_id in _IDENTIFIER:
            self._bind_name(name, value)
        elif name.type == "object_pattern":
            owner = self.module_of(value)
            for key, local in _destructured(name):
                if owner:
                    self._bind_member(local, owner, key)

    def _bind_member(self, name: str, module: str, member: str) -> None:
        """``name`` holds ``module.member``: ``{ promises: fsp }`` of fs is fs too."""
        if member in ("promises", "default"):
            self.modules[name] = module
        else:
            self.functions[name] = (module, member)

    def _bind_name(self, node: Node, value: Node) -> None:
        value = unwrap(value)
        if value.kind_id not in _BINDABLE or (value.kind_id in _CALL and not self._binds(value)):
            return
        name = text_of(node)
        if module := self.module_of(value):
            self.modules[name] = module
        elif function := self._function_of(value):
            self.functions[name] = function
        elif self._is_require(unwrap(value)):
            self.requires.add(name)

    def _binds(self, call: Node) -> bool:
        """Whether the value of ``call`` can be a module, a module function or a require."""
        function = call.child_by_field_id(FIELD.function)
        name = None if function is None else name_bytes(function)
        return name is None or name in _BINDING_CALLS or name.decode("utf-8", "replace") in self.requires

    def _is_require(self, value: Node) -> bool:
        """``require`` itself, or ``createRequire(...)``: what a name bound to it loads modules with."""
        if value.type == "identifier":
            return self._global(text_of(value)) == ("", "require")
        return value.type == "call_expression" and called_name(value) == "createRequire"

    def _function_of(self, value: Node) -> _Target | None:
        """The module function ``value`` holds: ``cp.exec``, ``promisify(cp.exec)``, ``cp.exec.bind(cp)``."""
        value = unwrap(value)
        target: _Target | None = None
        if value.type == "identifier":
            target = self.functions.get(text_of(value))
        elif value.type in ("member_expression", "subscript_expression"):
            target = self.member(value)
        elif value.type == "call_expression" and called_name(value) in ("promisify", "bind"):
            inner = _first_arg(value) if called_name(value) == "promisify" else receiver_of(value)
            target = None if inner is None else self._function_of(inner)
        return target if target and target[0] not in ("", "?") else None

    def is_regex(self, node: Node | None) -> bool:
        """Whether ``node`` is a regular expression: a literal, ``new RegExp(...)``, a const bound to one."""
        node = None if node is None else unwrap(node)
        if node is not None and node.type == "identifier" and not self._shadowed(text_of(node)):
            node = self.values.consts.get(text_of(node))
        if node is None or node.type == "regex":
            return node is not None
        function = node.child_by_field_id(FIELD.constructor if node.type == "new_expression" else FIELD.function)
        return function is not None and function.text == b"RegExp"

    def _reaches_function(self, obj: Node) -> bool:
        """Whether ``obj.constructor`` is the Function constructor (or its async or generator kin)."""
        if obj.type in ("function_expression", "arrow_function", "generator_function", "function"):
            return True
        if obj.type in ("member_expression", "subscript_expression"):
            return self.prop(obj) == "constructor"
        return obj.type == "call_expression" and called_name(obj) == "getPrototypeOf"

    def _shadowed(self, name: str) -> bool:
        return name in self._rebound or name in self._bindings


def _destructured(pattern: Node) -> list[tuple[str, str]]:
    """(key, local name) of each name an object pattern binds: ``{exec, spawn: sp}``."""
    pairs = []
    for child in pattern.named_children:
        if child.type == "shorthand_property_identifier_pattern":
            pairs.append((text_of(child), text_of(child)))
        elif child.type in ("pair_pattern", "object_assignment_pattern"):
            key = child.child_by_field_id(FIELD.key) or child.child_by_field_id(FIELD.left)
            local = child.child_by_field_id(FIELD.value) or key
            if local is not None and local.type == "assignment_pattern":
                local = local.child_by_field_id(FIELD.left)
            if key is not None and local is not None:
                pairs.append((text_of(key), text_of(local)))
    return pairs


def _first_arg(call: Node) -> Node | None:
    args = args_of(call)
    return args[0] if args else None
