"""The judgments of the JavaScript analyzer: given what one walk collected and what its names hold,
report each risky thing a script does with its pattern from ``js_patterns``."""

from __future__ import annotations

import bisect
import posixpath
import re
import shlex

from tree_sitter import Node

from airlock.models import Risk
from airlock.policy import js_patterns as js
from airlock.policy import shell
from airlock.policy.js_files import FUNCTIONS, FileJudge
from airlock.policy.js_grammar import FIELD, args_of, kind_ids, line_of, name_bytes, text_of
from airlock.policy.js_scope import GLOBAL_OBJECTS, Call, Facts, Scope, module_name, unwrap
from airlock.policy.patterns import Findings, Pattern

__all__ = ["Judge"]

_EXEC = frozenset({"exec", "execSync", "spawn", "spawnSync", "execFile", "execFileSync", "fork"})
_NETWORK_MODULES = frozenset({"net", "dgram", "tls", "http", "https", "http2", "dns", "undici", "node-fetch"})
_NETWORK_MODULES |= {"axios", "ws", "got", "request", "cross-fetch", "socket.io-client", "ssh2", "ftp"}
_NETWORK_GLOBALS = frozenset({"fetch", "WebSocket", "XMLHttpRequest", "EventSource"})
_SOCKETS = frozenset({("net", "connect"), ("net", "createConnection"), ("net", "Socket"), ("tls", "connect")})
_SOCKETS |= {("dgram", "createSocket")}
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "ash", "busybox", "cmd", "cmd.exe"})
_SHELLS |= {"powershell", "powershell.exe", "pwsh"}
_SENSITIVE = frozenset({"child_process", "vm", "fs", "worker_threads", "module", "process", "inspector", "v8"})
_SENSITIVE |= _NETWORK_MODULES
#: Objects whose members are reached by computed names only to hide what runs.
_GUARDED_OBJECTS = GLOBAL_OBJECTS | {"process", "module", "require", "Reflect"}
_DANGEROUS_NAMES = _EXEC | {"eval", "Function", "require", "process", "mainModule", "binding", "dlopen"}
_DANGEROUS_NAMES |= {"_linkedBinding", "constructor", "child_process", "_load", "setTimeout", "setInterval"}
_VM = frozenset({"runInNewContext", "runInThisContext", "runInContext", "compileFunction"})
_FUNCTIONS = frozenset({"Function", "AsyncFunction", "GeneratorFunction"})
_TIMERS = frozenset({"setTimeout", "setInterval", "setImmediate"})
_STRINGISH = frozenset({"string", "template_string", "binary_expression"})
_LITERALS = frozenset({"string", "template_string"})
_NATIVE = frozenset({"binding", "dlopen", "_linkedBinding"})
_IDS = frozenset({"setuid", "setgid", "seteuid", "setegid", "setgroups", "initgroups"})
_VALUE_PARENTS = frozenset({"arguments", "array", "pair", "member_expression", "subscript_expression"})
_VALUE_PARENTS |= {"return_statement", "ternary_expression", "sequence_expression", "spread_element"}
_VALUE_PARENTS |= {"parenthesized_expression", "binary_expression", "expression_statement"}
#: How a script names itself, to start itself again.
_SELF = re.compile(r"__filename|process\.argv\[1\]|process\.argv\.slice\(1\)|import\.meta\.|require\.main")
_LOOPS = frozenset({"for_statement", "for_in_statement", "while_statement", "do_statement"})
#: The names of every function judged here: a call to anything else is passed over at once.
_CALLED = _EXEC | _NETWORK_GLOBALS | _VM | _FUNCTIONS | _TIMERS | _IDS | FUNCTIONS | {name for _, name in _SOCKETS}
_CALLED |= {"require", "_load", "eval", "execScript", "Script", "SourceTextModule", "Worker", "kill", "constructor"}
_CALLED |= {"pipe"}
_CALLED_BYTES = frozenset(name.encode() for name in _CALLED)
#: The watched member names of which nothing is reported when they are called.
_CALLED_ONLY = frozenset(name.encode() for name in (*_EXEC, "eval"))
_CALL = kind_ids("call_expression")
_CALLS = kind_ids("call_expression", "new_expression")
_MEMBER = kind_ids("member_expression")
_SUBSCRIPT = kind_ids("subscript_expression")
_MEMBERS = _MEMBER | _SUBSCRIPT
_QUOTING = re.compile(r"[\"'\\]")
#: A word of a command, as ``shlex.split`` cuts them when there is no quoting to undo.
_WORD = re.compile(r"[^ \t\r\n]+")


class _Nest:
    """Loops, conditionals and ``setInterval`` calls (nodes, so two are nested or apart), and which of
    them contain a node: found by bisection and the chain of those around each, not by testing every
    one, nor by climbing parents, which costs as much as the tree is deep."""

    def __init__(self, blocks: list[Node]) -> None:
        self._blocks = sorted(blocks, key=lambda block: (block.start_byte, -block.end_byte))
        self._starts = [block.start_byte for block in self._blocks]
        self._ends = [block.end_byte for block in self._blocks]
        self._outer: list[int] = []  # the index of the nearest block around each, or -1
        open_blocks: list[int] = []
        for index, end in enumerate(self._ends):
            while open_blocks and self._ends[open_blocks[-1]] < end:
                open_blocks.pop()
            self._outer.append(open_blocks[-1] if open_blocks else -1)
            open_blocks.append(index)

    def around(self, node: Node) -> list[Node]:
        """The blocks that contain ``node``, other than itself."""
        start, end, this = node.start_byte, node.end_byte, node.id
        found = []
        index = bisect.bisect_right(self._starts, start) - 1  # the last block to start where node does or before
        while index >= 0:
            block = self._blocks[index]
            if end <= self._ends[index] and block.id != this:
                found.append(block)
            index = self._outer[index]
        return found


class Judge:
    """Reports what one script does, given what its names hold (``scope``)."""

    def __init__(self, findings: Findings, scope: Scope, facts: Facts) -> None:
        self.findings, self.scope, self.values = findings, scope, scope.values
        self._seen: set[tuple[str, int]] = set()
        self._sockets: list[Node] = []
        self._shells: list[Node] = []
        self._spawned: list[Node] = []
        self._pipes: list[Node] = []
        self._files = FileJudge(self.values, findings)
        self._child_process = facts.any_string or scope.uses("child_process")
        self._aliases = {name.encode() for name in scope.aliases()}  # called by names bound to judged ones
        self._facts_blocks = facts.blocks
        self._intervals: list[Node] = []  # the setInterval calls, found with the calls worth judging
        self._blocks: _Nest | None = None  # made when first needed
        self._endless: dict[int, bool] = {}

    def report(self, pattern: Pattern, node: Node, detail: str = "", risk: Risk | None = None) -> None:
        """Add a finding, once per pattern and line."""
        line = line_of(node)
        key = (pattern.id, line)
        if key not in self._seen:
            self._seen.add(key)
            self.findings.add(pattern, line, detail, risk=risk)

    def all(self, facts: Facts) -> None:
        for statement in facts.imports:
            source = statement.child_by_field_id(FIELD.source)
            self._load(self.values.fold(source) or "", statement)
        for call, function, called in self._judged_calls(facts.calls):
            self._call(call, function, called)
        for member in facts.members:
            self._member(member)
        for name in facts.names:
            self._name(name)
        for string in facts.strings:
            if self.values.fold(string) in ("child_process", "node:child_process"):
                self.report(js.CHILD_PROCESS, string, _snippet(string))
        connected = self._shells or (self._spawned if self._pipes else [])
        if self._sockets and connected:
            self.report(js.REVERSE_SHELL, connected[0], _snippet(connected[0]))
        dumps = [reason for reason in self.findings.reasons if reason.pattern == js.ENV_DUMP.id]
        if dumps and any(reason.pattern == js.NETWORK.id for reason in self.findings.reasons):
            self.findings.add(js.EXFILTRATION, None, "the environment and the network in one script")

    # -- calls -----------------------------------------------------------------------------------------

    def _judged_calls(self, calls: list[Call]) -> list[Call]:
        """The calls worth judging: of a function judged here or of a name bound to one, and of what has
        no plain name. An ordinary call (``console.log``, ``xs.map``) costs a set miss. On the way, the
        ``setInterval`` calls are kept: they repeat what they call, as loops do."""
        judged: list[Call] = []
        for call, callee, name in calls:
            if name is None or name in _CALLED_BYTES or name in self._aliases:
                judged.append((call, callee, name))
                if name == b"setInterval" and call.kind_id in _CALL:
                    self._intervals.append(call)
        return judged

    def _call(self, call: Node, function: Node, called: bytes | None) -> None:
        if call.kind_id in _CALL and self.scope.loads(call, called):
            self._loader(call, function)
            return
        target = self.scope.callee(function)
        if target is None:
            return
        owner, name = target
        if owner == "?":
            owner = self._guess_owner(unwrap(function), name)
        self._dispatch(call, owner, name)

    def _guess_owner(self, function: Node, name: str) -> str:
        """Whose method ``x.name(...)`` is when ``x`` is not known: in a script that loads child_process,
        ``x.spawn`` is child_process's (``x.exec`` too, unless ``x`` is a regex); ``x['ev' + 'al']`` is eval."""
        if name in _EXEC and self._child_process:
            regex = name == "exec" and self.scope.is_regex(function.child_by_field_id(FIELD.object))
            return "?" if regex else "child_process"
        return "" if name in ("eval", *_FUNCTIONS) and function.type == "subscript_expression" else "?"

    def _dispatch(self, call: Node, owner: str, name: str) -> None:
        args = args_of(call)
        code = self._code_args(owner, name, args)
        if code is not None:
            self._eval(call, name, code)
        elif owner == "child_process" and name in _EXEC:
            self._command(call, name, args)
        elif owner == "fs":
            self._files.call(call, name, args)
        elif owner == "process":
            self._process(call, name, args)
        elif (owner, name) in _SOCKETS:
            self._sockets.append(call)
        elif owner == "cluster" and name == "fork":
            self._fork_bomb(call, "cluster.fork", args)
        elif name == "pipe":
            self._pipes.append(call)
        elif owner == "" and name in _NETWORK_GLOBALS:
            self.report(js.NETWORK, call, name)

    def _loader(self, call: Node, function: Node) -> None:
        args = args_of(call)
        if not args:
            return
        spec = self.values.fold(args[0])
        if spec is None:
            self._decoded(call, args[0], "require")
            self.report(js.DYNAMIC_IMPORT, call, _snippet(args[0]))
            return
        self._load(spec, call)
        if not _plain(args[0]) and module_name(spec) in _SENSITIVE:
            self.report(js.DYNAMIC_IMPORT, call, f"{_snippet(args[0])} is {spec!r}")
        function = unwrap(function)
        if function.kind_id in _MEMBERS:
            self.report(js.DYNAMIC_IMPORT, call, f"loads {spec!r} through {_snippet(function)}, around require")

    def _load(self, spec: str, node: Node) -> None:
        module = module_name(spec)
        if module == "child_process":
            self.report(js.CHILD_PROCESS, node, spec)
        elif module in _NETWORK_MODULES:
            self.report(js.NETWORK, node, f"loads {spec}")

    def _code_args(self, owner: str, name: str, args: list[Node]) -> list[Node] | None:
        """The arguments that are code to evaluate, when the call evaluates code."""
        if owner == "" and name in ("eval", "execScript"):
            return args[:1]
        if owner == "" and name in _FUNCTIONS:
            return args
        if (owner in ("vm", "?") and name in _VM) or (owner == "vm" and name in ("Script", "SourceTextModule")):
            return args[:1]
        if owner in ("", "timers") and name in _TIMERS and args and args[0].type in _STRINGISH:
            return args[:1]
        if owner == "worker_threads" and name == "Worker" and len(args) > 1 and args[1].type == "object":
            return args[:1] if _option(args[1], "eval") else None
        return None

    def _eval(self, call: Node, name: str, args: list[Node]) -> None:
        for arg in args:
            self._decoded(call, arg, name)
        texts = [self.values.fold(arg) for arg in args]
        code = [text for text in texts if text is not None]
        if len(code) < len(texts):
            self.report(js.DYNAMIC_EVAL, call, _snippet(call))
            return
        if not code:
            return
        if name in _FUNCTIONS:
            code = [f"(function anonymous({','.join(code[:-1])}\n) {{\n{code[-1]}\n}})"]
        self.report(js.EVAL_LITERAL, call, _snippet(call))
        self._analyze(code[0], call)

    def _analyze(self, code: str, call: Node) -> None:
        """Analyze code a script evaluates as JavaScript; what it finds is reported at the call's line."""
        from airlock.policy.analysis import analyze_into  # it loads this analyzer on first use

        inner = Findings(depth=self.findings.depth)
        analyze_into(code, "javascript", inner)
        where = line_of(call) + self.findings.offset
        self.findings.extend(reason.model_copy(update={"line": where}) for reason in inner.reasons)
        self.findings.commands |= inner.commands

    def _command(self, call: Node, name: str, args: list[Node]) -> None:
        self._fork_bomb(call, name, args)
        self._spawned.append(call)
        command = self._command_text(name, args)
        if command is None:
            self._decoded(call, args[0] if args else call, name)
            self.report(js.DYNAMIC_COMMAND, call, _snippet(call))
            return
        if _program(command) in _SHELLS:
            self._shells.append(call)
        shell.scan(command, self.findings, line_of(call))

    def _command_text(self, name: str, args: list[Node]) -> str | None:
        """The shell text a child_process call runs, or None when it is computed."""
        if not args:
            return None
        if name in ("exec", "execSync"):
            return self.values.fold(args[0])
        program, rest = self.values.fold(args[0]), args[1:]
        argv: list[str | None] = []
        if rest and rest[0].type == "array":
            argv, rest = [self._word(item) for item in rest[0].named_children], rest[1:]
        if program is None or None in argv or (rest and rest[0].type != "object"):
            return None
        words = [word or "" for word in ([program, *argv] if name != "fork" else ["node", program, *argv])]
        return " ".join(words) if rest and _option(rest[0], "shell") else shlex.join(words)

    def _word(self, node: Node) -> str | None:
        return text_of(node) if node.type == "number" else self.values.fold(node)

    def _fork_bomb(self, call: Node, name: str, args: list[Node]) -> None:
        """An endless loop that starts processes, or a script that starts itself again with no condition
        to stop its copies doing the same (``if (cluster.isPrimary)``). Sync calls wait for each: high."""
        loop, guarded = self._surroundings(call)
        if loop == "endless":
            self.report(js.FORK_BOMB, call, _snippet(call), Risk.HIGH if name.endswith("Sync") else None)
        elif not guarded and (name == "cluster.fork" or any(_SELF.search(_snippet(arg)) for arg in args)):
            self.report(js.FORK_BOMB, call, f"starts itself again: {_snippet(call)}")

    def _process(self, call: Node, name: str, args: list[Node]) -> None:
        target = text_of(args[0]).replace(" ", "") if name == "kill" and args else None
        probe = len(args) > 1 and text_of(args[1]) == "0"  # signal 0 asks whether a process lives
        if target in ("-1", "0") and not probe:
            self.report(js.KILL_ALL, call, "every process" if target == "-1" else "its whole process group")
        elif name in _IDS:
            self.report(js.SETUID, call, _snippet(call))

    def _decoded(self, call: Node, arg: Node, into: str) -> None:
        decoder = None if arg.type in _LITERALS else self.values.decoder(arg)
        if decoder:
            self.report(js.DECODE_EXEC, call, f"{decoder}(...) into {into}")

    def _surroundings(self, node: Node) -> tuple[str | None, bool]:
        """("endless" | "loop" | None, guarded): the loops around ``node`` (a ``setInterval`` callback
        counts as one), and whether a condition guards it. Told by byte ranges, not by climbing parents,
        which costs as much as the tree is deep."""
        loop: str | None = None
        guarded = False
        for block in self._around(node):
            if block.type in _LOOPS or block.type == "call_expression":  # setInterval repeats, with pauses
                endless = self._endless.setdefault(block.id, block.type != "call_expression" and _endless(block))
                loop = "endless" if endless or loop == "endless" else "loop"
            else:
                guarded = True
        return loop, guarded

    def _around(self, node: Node) -> list[Node]:
        """The loops, conditionals and ``setInterval`` calls that contain ``node``."""
        if self._blocks is None:
            self._blocks = _Nest([*self._facts_blocks, *self._intervals])
        return self._blocks.around(node)

    # -- members and names -----------------------------------------------------------------------------

    def _member(self, node: Node) -> None:
        kind = node.kind_id
        if kind in _MEMBER and name_bytes(node) in _CALLED_ONLY and _is_callee(node):
            return  # x.exec(...), x.eval(...): judged as calls, nothing to report here
        if kind in _SUBSCRIPT and not self._subscript(node):
            return
        target = self.scope.member(node)
        if target is None:
            return
        owner, prop = target
        if prop == "Function" and node.type == "member_expression":
            self.report(js.COMPUTED_MEMBER, node, f"reaches Function through {_snippet(node)}")
        elif owner == "process" and prop in _NATIVE:
            self.report(js.NATIVE, node, _snippet(node))
        elif owner == "process" and prop == "env" and _whole_value(node):
            self.report(js.ENV_DUMP, node, _snippet(node.parent or node))
        elif owner == "child_process" and prop in _EXEC and not _is_callee(node) and _passed_around(node):
            self.report(js.DYNAMIC_COMMAND, node, f"passes {_snippet(node)} around")
        elif owner == "" and prop in ("eval", "Function") and not _is_callee(node):
            self.report(js.DYNAMIC_EVAL, node, f"uses {_snippet(node)} indirectly")

    def _guarded(self, node: Node) -> bool:
        """Whether ``node`` is ``x[...]`` of a global object or a sensitive module."""
        base = unwrap(node.child_by_field_id(FIELD.object) or node)
        if base.type == "identifier" and text_of(base) in _GUARDED_OBJECTS:
            return True
        return base.type in ("identifier", "call_expression", "member_expression") and (
            self.scope.module_of(base) in _SENSITIVE
        )

    def _subscript(self, node: Node) -> bool:
        """Judge ``x[...]``: a computed name on a global or a sensitive module, or a dangerous name spelled
        so that a search misses it (``x['ev' + 'al']``). True when ``x`` is such a global or module."""
        guarded = self._guarded(node)
        index = node.child_by_field_id(FIELD.index)
        name = self.values.fold(index) if guarded or (index is not None and index.type != "number") else None
        if guarded and name is None:
            self.report(js.COMPUTED_MEMBER, node, _snippet(node))
        elif name in _DANGEROUS_NAMES and (guarded or (index is not None and not _plain(index))):
            self.report(js.COMPUTED_MEMBER, node, f"{_snippet(node)} is {name!r}")
        return guarded

    def _name(self, node: Node) -> None:
        if _is_callee(node):
            return
        name, parent = text_of(node), node.parent
        if parent is None:
            return
        if name == "eval" and parent.type in (*_VALUE_PARENTS, "variable_declarator", "assignment_expression"):
            self.report(js.DYNAMIC_EVAL, node, "uses eval indirectly")
        elif name == "Function" and parent.type in _VALUE_PARENTS and not _harmless_function(node, parent):
            self.report(js.DYNAMIC_EVAL, node, f"uses the Function constructor indirectly: {_snippet(parent)}")
        elif self.scope.functions.get(name, ("", ""))[0] == "child_process" and _passed_around(node):
            self.report(js.DYNAMIC_COMMAND, node, f"passes {name} around")


def _is_callee(node: Node) -> bool:
    """Whether ``node`` is what a call calls (``eval`` in ``eval(x)``, not in ``f(eval)``)."""
    call = node.parent
    if call is None or call.kind_id not in _CALLS:
        return False
    callee = call.child_by_field_id(FIELD.function) or call.child_by_field_id(FIELD.constructor)
    return callee is not None and callee.id == node.id


def _plain(node: Node) -> bool:
    """Whether ``node`` is a string literal that says what it is: no escapes, no substitutions."""
    if node.type not in _LITERALS:
        return False
    text = node.text
    return b"\\" not in (text or b"\\") and b"${" not in (text or b"")


def _snippet(node: Node, limit: int = 256) -> str:
    """The start of ``node``'s text (a whole argument's text can be as long as the script)."""
    return (node.text or b"")[:limit].decode("utf-8", "replace")


def _passed_around(node: Node) -> bool:
    """Whether a child_process function (not called) is used as a value, not bound to a name."""
    parent = node.parent
    if parent is None or parent.type not in _VALUE_PARENTS:
        return False
    call = parent.parent if parent.type == "arguments" else None
    return not (call is not None and text_of(call.child_by_field_id(FIELD.function) or call).endswith("promisify"))


def _whole_value(node: Node) -> bool:
    """Whether ``process.env`` is handed whole to a function or enumerated."""
    parent = node.parent
    return parent is not None and (parent.type == "arguments" or parent.type == "for_in_statement")


def _harmless_function(node: Node, parent: Node) -> bool:
    """``Function.prototype`` and ``x instanceof Function``."""
    if parent.type == "binary_expression":
        return True
    prop = parent.child_by_field_id(FIELD.property) if parent.type == "member_expression" else None
    return prop is not None and prop.text == b"prototype"


def _endless(loop: Node) -> bool:
    condition = loop.child_by_field_id(FIELD.condition)
    if condition is None or condition.type == "empty_statement":
        return loop.type == "for_statement"
    text = text_of(unwrap(condition)).replace(" ", "")
    return text in ("true", "!0", "!false", "!!1", "1") or (text.isdigit() and text != "0")


def _option(options: Node, key: str) -> bool:
    """Whether an options object literal sets ``key`` to something other than false."""
    for child in options.named_children:
        if child.type == "shorthand_property_identifier" and text_of(child) == key:
            return True
        name = child.child_by_field_id(FIELD.key) if child.type == "pair" else None
        value = child.child_by_field_id(FIELD.value) if child.type == "pair" else None
        if name is not None and text_of(name).strip("'\"") == key:
            return value is None or value.type != "false"
    return False


def _program(command: str) -> str:
    """The program a command runs; ``shlex`` (slow) only when there is quoting to undo."""
    if _QUOTING.search(command) is None:
        word = _WORD.search(command)
        return posixpath.basename(word.group()) if word else ""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return posixpath.basename(words[0]) if words else ""
