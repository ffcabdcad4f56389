"""Shell scripts, read with a real parser (tree-sitter's Bash grammar) so that every command counts:
those in pipelines, lists, subshells, functions, command and process substitutions, heredocs fed to a
shell, and the strings given to ``sh -c``, ``eval``, ``find -exec`` and ``xargs``. ``ls; rm -rf /``
is judged by its worst part.

Words are resolved as Bash would before they are judged: quotes and escapes are removed (``r''m``,
``\\rm``, ``$'\\x72m'`` are ``rm``), variables assigned earlier in the script are substituted
(``a=rm; $a -rf /``), ``${IFS}`` splits words. A command whose name is still unknown after that
(``$(decode) -rf /``) is a finding of its own: the policy does not allow what it cannot read.
"""

from __future__ import annotations

import codecs
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from airlock.models import Risk
from airlock.policy import shell_rules
from airlock.policy.patterns import Findings, Pattern, register

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

__all__ = ["Command", "scan"]

#: Nesting of shells in strings (``sh -c "sh -c '...'"``) read before giving up.
MAX_DEPTH = 6

UNPARSED = Pattern(
    "shell.unparsed",
    Risk.HIGH,
    "shell code that does not parse: what it does cannot be read",
    examples=(("bash", "if then fi ((("),),
    benign=(("bash", "if true; then echo ok; fi"),),
)
SPELLED = Pattern(
    "obfuscation.command-name",
    Risk.MEDIUM,
    "a command name spelled with quotes or escapes, which hides it from a plain search",
    examples=(("bash", "r''m notes.txt"), ("bash", "$'\\x6c\\x73' -l")),
    benign=(("bash", "ls -l 'my file'"),),
)


def _nest(levels: int) -> str:
    text = "ls"
    for _ in range(levels):
        text = f"sh -c {shlex.quote(text)}"
    return text


NESTED = Pattern(
    "obfuscation.nesting",
    Risk.HIGH,
    "shells nested in strings deeper than the policy reads",
    examples=(("bash", _nest(MAX_DEPTH + 2)),),
    benign=(("bash", _nest(2)),),
)
FORK_BOMB = Pattern(
    "dos.fork-bomb",
    Risk.CRITICAL,
    "a fork bomb: a function that starts copies of itself",
    examples=(("bash", ":(){ :|:& };:"), ("bash", "bomb() { bomb | bomb & }; bomb")),
    benign=(("bash", "fact() { local n=$1; [ $n -le 1 ] && echo 1 || echo $(( n * $(fact $((n-1))) )); }"),),
)
register(UNPARSED, SPELLED, NESTED, FORK_BOMB)


@dataclass
class Command:
    """One simple command, its words resolved (``None``: known only when it runs)."""

    argv: list[str | None]
    line: int
    #: (operator, target) of its redirections: ``(">", "/dev/sda")``; target None when computed.
    redirects: list[tuple[str, str | None]] = field(default_factory=list)
    #: Text it reads on stdin when known: a heredoc, a here-string, or ``echo "..." |``.
    stdin_text: str | None = None
    #: The commands before it in its pipeline, in order.
    upstream: list[Command] = field(default_factory=list)
    #: The commands of the command and process substitutions among its words.
    substituted: list[Command] = field(default_factory=list)
    spelled: bool = False  #: its name was written with quotes or escapes

    @property
    def name(self) -> str | None:
        head = self.argv[0] if self.argv else None
        return None if head is None else head.rsplit("/", 1)[-1]

    @property
    def args(self) -> list[str | None]:
        return self.argv[1:]


@cache
def _parser() -> Parser:
    import tree_sitter_bash
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bash.language()))


def scan(text: str, findings: Findings, line: int = 1, *, depth: int = 0) -> None:
    """Judge ``text`` as a shell script; findings are reported from ``line`` on."""
    if depth > MAX_DEPTH:
        findings.add(NESTED, line)
        return
    saved = findings.offset
    findings.offset = saved + line - 1
    try:
        _Reader(findings, depth).read(_parser().parse(text.encode()).root_node)
    finally:
        findings.offset = saved


class _Reader:
    def __init__(self, findings: Findings, depth: int) -> None:
        self.findings = findings
        self.depth = depth
        self.variables: dict[str, str] = {"IFS": " ", "HOME": "~"}
        self.seen: list[Command] = []  #: every command judged, in order

    def read(self, root: Node) -> None:
        if root.has_error:
            self.findings.add(UNPARSED, _error_line(root))
        for node in _statements(root):
            self.statement(node)
        shell_rules.conclude(self.seen, self.findings)

    def nested(self, text: str, line: int) -> None:
        """Shell code in a string (``sh -c``, ``eval``, a heredoc): read it too."""
        scan(text, self.findings, line - self.findings.offset, depth=self.depth + 1)

    # -- statements ---------------------------------------------------------------------------------
    def statement(self, node: Node) -> None:
        kind = node.type
        if kind == "command":
            self.judge(self.command(node), [])
        elif kind == "pipeline":
            self.pipeline(node)
        elif kind == "redirected_statement":
            self.redirected(node)
        elif kind in ("variable_assignment", "declaration_command"):
            self.assignment(node)
        elif kind == "unset_command":
            names = [_text(c) for c in node.named_children]
            self.judge(Command(argv=["unset", *names], line=_line(node)), [])
        elif kind == "function_definition":
            self.function(node)
        else:  # lists, subshells, loops, conditionals, negations: their statements, in order
            for child in node.named_children:
                self.statement(child)

    def pipeline(self, node: Node, stdin_text: str | None = None) -> None:
        stages: list[Command] = []
        for child in node.named_children:
            command = self.stage(child)
            if command is None:
                continue
            if not stages:
                command.stdin_text = command.stdin_text or stdin_text
            self.judge(command, list(stages))
            stages.append(command)

    def stage(self, node: Node) -> Command | None:
        if node.type == "command":
            return self.command(node)
        if node.type == "redirected_statement":
            return self.redirected(node)
        self.statement(node)  # a subshell or compound in a pipeline: judged on its own
        return None

    def redirected(self, node: Node) -> Command | None:
        body = node.child_by_field_name("body")
        redirects, heredoc, tail = [], None, None
        for child in node.children:
            if child.type == "file_redirect":
                target = child.child_by_field_name("destination") or child.named_children[-1]
                op = next((c.type for c in child.children if not c.is_named), ">")
                if target.type not in ("number", "file_descriptor"):
                    redirects.append((op, self.word(target)))
            elif child.type == "heredoc_redirect":
                heredoc = "".join(_text(c) for c in child.named_children if c.type == "heredoc_body")
                tail = next((c for c in child.named_children if c.type in ("pipeline", "command")), None)
            elif child.type == "herestring_redirect" and child.named_children:
                heredoc = self.word(child.named_children[-1])
        if body is None:  # ``> file``: a redirection alone truncates
            for _op, path in redirects:
                if path is not None:
                    shell_rules.written(path, _line(node), self.findings)
            return None
        if body.type != "command":
            if body is not None:
                self.statement(body)
            if heredoc and _is_shell_node(body):
                self.nested(heredoc, _line(node))
            return None
        command = self.command(body)
        command.redirects.extend(redirects)
        command.stdin_text = heredoc
        self.judge(command, [])
        if tail is not None:  # ``cat <<EOF | bash``: the grammar puts the pipeline in the heredoc
            stages = [command]
            for child in tail.named_children if tail.type == "pipeline" else [tail]:
                if (stage := self.stage(child)) is not None:
                    self.judge(stage, list(stages))
                    stages.append(stage)
        return command

    def assignment(self, node: Node) -> None:
        assignments = [node] if node.type == "variable_assignment" else node.named_children
        for item in assignments:
            if item.type != "variable_assignment":
                continue
            name_node, value_node = item.child_by_field_name("name"), item.child_by_field_name("value")
            name = _text(name_node) if name_node is not None else ""
            value = "" if value_node is None else self.word(value_node)
            self.substitutions_in(value_node)
            if value is None:
                self.variables.pop(name, None)
            else:
                self.variables[name] = value
            shell_rules.assignment(name, value, _line(item), self.findings)

    def function(self, node: Node) -> None:
        name_node, body = node.child_by_field_name("name"), node.child_by_field_name("body")
        name = _text(name_node) if name_node is not None else ""
        if body is None:
            return
        calls = [c for c in _walk(body) if c.type == "command_name" and _text(c) == name]
        if calls and any(c.type in ("pipeline", "&") for c in _walk(body)):
            self.findings.add(FORK_BOMB, _line(node), f"{name}() calls itself in a pipeline or background")
        self.statement(body)

    # -- commands and words -------------------------------------------------------------------------
    def command(self, node: Node) -> Command:
        if "IFS" in _text(node) and re.search(r"\$\{?IFS", _text(node)):
            self.findings.add(shell_rules.IFS, _line(node))
        argv: list[str | None] = []
        substituted: list[Command] = []
        spelled = False
        for child in node.named_children:
            if child.type == "variable_assignment":  # ``VAR=x cmd``: the command's own environment
                value = child.child_by_field_name("value")
                name = child.child_by_field_name("name")
                shell_rules.assignment(
                    _text(name) if name else "", self.word(value) if value else "", _line(child), self.findings
                )
                continue
            if child.type in ("file_redirect", "herestring_redirect"):
                continue
            target = child.named_children[0] if child.type == "command_name" and child.named_children else child
            if child.type == "command_name":
                spelled = target.type in ("concatenation", "ansi_c_string", "raw_string", "string") or (
                    target.type == "word" and "\\" in _text(target)
                )
            substituted.extend(self.substitutions_in(child))
            argv.extend(self.words(target))
        return Command(argv=argv, line=_line(node), substituted=substituted, spelled=spelled)

    def substitutions_in(self, node: Node | None) -> list[Command]:
        """Judge the commands of the command and process substitutions in ``node``; return them."""
        found: list[Command] = []
        if node is None:
            return found
        for sub in _substitutions(node):
            for inner in sub.named_children:
                before = len(self.seen)
                self.statement(inner)
                found.extend(self.seen[before:])
        return found

    def judge(self, command: Command, upstream: list[Command]) -> None:
        command.upstream = upstream
        self.seen.append(command)
        if command.argv and command.argv[0] is None:
            self.findings.add(shell_rules.DYNAMIC, command.line)
            return
        if command.spelled:
            self.findings.add(SPELLED, command.line, str(command.name))
        shell_rules.judge(command, self.findings, self.nested)

    def words(self, node: Node) -> list[str | None]:
        """The words ``node`` becomes: unquoted expansions split on whitespace, like Bash."""
        value = self.word(node)
        unquoted = node.type in _EXPANSIONS or (
            node.type == "concatenation" and any(child.type in _EXPANSIONS for child in node.children)
        )
        if value is not None and unquoted and value.strip():
            return list(value.split())
        return [value]

    def word(self, node: Node) -> str | None:
        """The static value of a word, or None when it is known only at run time."""
        kind = node.type
        if kind == "word":
            return _unescape(_text(node))
        if kind in ("number", "string_content", "heredoc_body"):
            return _text(node)
        if kind == "raw_string":
            return _text(node)[1:-1]
        if kind == "ansi_c_string":
            return _ansi_c(_text(node)[2:-1])
        if kind in ("simple_expansion", "expansion"):
            names = [c for c in node.named_children if c.type in ("variable_name", "special_variable_name")]
            plain = len(node.named_children) == 1 and names
            return self.variables.get(_text(names[0])) if plain else None
        if kind in ("string", "concatenation", "translated_string"):
            parts = [self.word(child) for child in node.named_children]
            return None if any(part is None for part in parts) else "".join(p for p in parts if p is not None)
        if kind == "command_substitution":
            return self.echoed(node)
        return None

    def echoed(self, node: Node) -> str | None:
        """``$(echo text)`` and ``$(printf text)`` with static text are that text."""
        commands = node.named_children
        if len(commands) != 1 or commands[0].type != "command":
            return None
        words = [self.word(c.named_children[0] if c.type == "command_name" else c) for c in commands[0].named_children]
        if len(words) >= 2 and words[0] in ("echo", "printf") and None not in words:
            return " ".join(w for w in words[1:] if w is not None and not w.startswith("-"))
        return None


def _is_shell_node(node: Node | None) -> bool:
    return node is not None and any(
        c.type == "command_name" and _text(c).rsplit("/", 1)[-1] in shell_rules.SHELLS for c in _walk(node)
    )


def _substitutions(node: Node) -> Iterator[Node]:
    """The outermost command and process substitutions in ``node`` (theirs are read with them)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in _SUBSTITUTIONS:
            yield current
        else:
            stack.extend(reversed(current.children))


_EXPANSIONS = frozenset({"simple_expansion", "expansion"})
_SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution"})


def _statements(root: Node) -> Iterator[Node]:
    yield from (child for child in root.named_children if child.type != "comment")


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _error_line(root: Node) -> int:
    for node in _walk(root):
        if node.type == "ERROR" or node.is_missing:
            return _line(node)
    return 1


def _text(node: Node) -> str:
    return (node.text or b"").decode(errors="replace")


def _line(node: Node) -> int:
    return int(node.start_point[0]) + 1


_ESCAPED = re.compile(r"\\(.)", re.S)


def _unescape(text: str) -> str:
    return _ESCAPED.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def _ansi_c(body: str) -> str | None:
    try:
        return codecs.decode(body.encode("latin-1", "backslashreplace"), "unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return None
