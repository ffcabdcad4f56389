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
from bisect import bisect_left
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


@dataclass(slots=True)
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
        encoded = text.encode()
        root = _parser().parse(encoded).root_node
        _Reader(findings, depth, _Source(text, encoded, root)).read(root)
    finally:
        findings.offset = saved


class _Source:
    """The script's text, read by byte range, and where substitutions can start.

    Slicing the script is cheaper than ``node.text`` (a new bytes object, then decoded); in an ASCII
    script byte offsets are character offsets, so the slice needs no decoding at all. Most words hold
    no substitution, so a word is searched for them only when one can start inside it.
    """

    def __init__(self, text: str, encoded: bytes, root: Node) -> None:
        self.text = text if text.isascii() else None
        self.encoded = encoded
        self.may_hide_ifs = b"IFS" in encoded
        # An error-free tree spells every substitution with its opening token; a tree with errors
        # may hold one the parser made up, so there every node is searched.
        self.starts = None if root.has_error else [m.start() for m in _SUBSTITUTION_START.finditer(encoded)]

    def of(self, node: Node) -> str:
        """The text of ``node`` (as ``node.text.decode(errors="replace")``)."""
        start, end = node.byte_range
        if self.text is not None:
            return self.text[start:end]
        return self.encoded[start:end].decode(errors="replace")

    def may_substitute(self, node: Node) -> bool:
        """False when no command or process substitution can be inside ``node``."""
        if self.starts is None:
            return True
        start, end = node.byte_range
        index = bisect_left(self.starts, start)
        return index < len(self.starts) and self.starts[index] < end


#: The opening tokens of command and process substitutions: ``$(``, a backquote, ``<(``, ``>(``.
_SUBSTITUTION_START = re.compile(rb"\$\(|`|<\(|>\(")


class _Reader:
    def __init__(self, findings: Findings, depth: int, source: _Source) -> None:
        self.findings = findings
        self.depth = depth
        self.source = source
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
            names = [self.source.of(c) for c in node.named_children]
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
            if command is None:  # ``{ echo ...; } | sh``: a compound's output, as the next stage reads it
                stages.append(self.compound_output(child))
                continue
            if not stages:
                command.stdin_text = command.stdin_text or stdin_text
            self.judge(command, list(stages))
            stages.append(command)

    def stage(self, node: Node) -> Command | None:
        kind = node.type
        if kind == "command":
            return self.command(node)
        if kind == "redirected_statement":
            return self.redirected(node)
        self.statement(node)  # a subshell or compound in a pipeline: judged on its own
        return None

    def compound_output(self, node: Node) -> Command:
        """What a compound or subshell in a pipeline stands for as the next stage's input (judged
        already, statement by statement): ``echo TEXT`` when it only echoes static text, else a
        stage whose output is not known."""
        commands = [c for c in _walk(node) if c.type == "command"]
        texts = [self.echoed_text(c) for c in commands]
        if commands and None not in texts:
            return Command(argv=["echo", "\n".join(t for t in texts if t is not None)], line=_line(node))
        return Command(argv=[f"{{ {node.type} }}"], line=_line(node))

    def echoed_text(self, node: Node) -> str | None:
        """The static text an ``echo`` or ``printf`` command prints, if it is one."""
        words = [self.word(c.named_children[0] if c.type == "command_name" else c) for c in node.named_children]
        if len(words) >= 2 and words[0] in ("echo", "printf") and None not in words:
            return " ".join(w for w in words[1:] if w is not None and not w.startswith("-"))
        return None

    def redirected(self, node: Node) -> Command | None:
        body = node.child_by_field_name("body")
        redirects, heredoc, tail = [], None, None
        for child in node.children:
            kind = child.type
            if kind == "file_redirect":
                target = child.child_by_field_name("destination") or child.named_children[-1]
                op = next((c.type for c in child.children if not c.is_named), ">")
                if target.type not in ("number", "file_descriptor"):
                    redirects.append((op, self.word(target)))
            elif kind == "heredoc_redirect":
                parts = child.named_children
                heredoc = "".join(self.source.of(c) for c in parts if c.type == "heredoc_body")
                tail = next((c for c in parts if c.type in ("pipeline", "command")), None)
            elif kind == "herestring_redirect" and child.named_children:
                heredoc = self.word(child.named_children[-1])
        if body is None:  # ``> file``: a redirection alone truncates
            for _op, path in redirects:
                if path is not None:
                    shell_rules.written(path, _line(node), self.findings)
            return None
        if body.type != "command":
            self.statement(body)
            if heredoc and self.is_shell(body):
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
            name = self.source.of(name_node) if name_node is not None else ""
            value = "" if value_node is None else self.word(value_node)
            self.substitutions_in(value_node)
            if value is None:
                self.variables.pop(name, None)
            else:
                self.variables[name] = value
            shell_rules.assignment(name, value, _line(item), self.findings)

    def function(self, node: Node) -> None:
        name_node, body = node.child_by_field_name("name"), node.child_by_field_name("body")
        name = self.source.of(name_node) if name_node is not None else ""
        if body is None:
            return
        # A call spells the name, so a body without the name's text calls nothing by it.
        if name in self.source.of(body):
            calls = [c for c in _walk(body) if c.type == "command_name" and self.source.of(c) == name]
            if calls and any(c.type in ("pipeline", "&") for c in _walk(body)):
                self.findings.add(FORK_BOMB, _line(node), f"{name}() calls itself in a pipeline or background")
        self.statement(body)

    # -- commands and words -------------------------------------------------------------------------
    def command(self, node: Node) -> Command:
        line = _line(node)
        text = self.source.of(node)
        if _PLAIN_COMMAND.fullmatch(text):  # most commands: nothing to resolve, the words are the text's
            return Command(argv=list(text.split()), line=line)
        if self.source.may_hide_ifs and _IFS.search(text):
            self.findings.add(shell_rules.IFS, line)
        argv: list[str | None] = []
        substituted: list[Command] = []
        spelled = False
        herestring: str | None = None
        unknown_stdin = False
        may_substitute = self.source.may_substitute(node)
        for child in node.named_children:
            kind = child.type
            if kind == "variable_assignment":  # ``VAR=x cmd``: the command's own environment
                self.environment(child)
                continue
            if kind == "herestring_redirect":  # ``bash <<< TEXT``: TEXT is its stdin (code, for a shell)
                herestring = self.word(child.named_children[-1]) if child.named_children else None
                unknown_stdin = herestring is None
                continue
            if kind == "file_redirect":
                continue
            if may_substitute:
                substituted.extend(self.substitutions_in(child))
            if kind == "command_name":
                name = child.named_children[0] if child.named_children else child
                spelled = self.is_spelled(name)
                argv.extend(self.words(name))
            else:
                argv.extend(self.words(child))
        command = Command(argv=argv, line=line, substituted=substituted, spelled=spelled)
        if herestring is not None:
            command.stdin_text = herestring
        elif unknown_stdin:  # ``bash <<< "$CMD"``: text known only when it runs, read as if piped in
            command.upstream = [Command(argv=["a here-string"], line=line)]
        return command

    def environment(self, node: Node) -> None:
        """``VAR=x cmd``: judged like an assignment, without changing the script's variables."""
        value = node.child_by_field_name("value")
        name = node.child_by_field_name("name")
        shell_rules.assignment(
            self.source.of(name) if name else "", self.word(value) if value else "", _line(node), self.findings
        )

    def is_spelled(self, name: Node) -> bool:
        """Whether a command name is written with quotes or escapes."""
        kind = name.type
        if kind in ("concatenation", "ansi_c_string", "raw_string", "string"):
            return True
        return kind == "word" and "\\" in self.source.of(name)

    def substitutions_in(self, node: Node | None) -> list[Command]:
        """Judge the commands of the command and process substitutions in ``node``; return them."""
        found: list[Command] = []
        if node is None or not self.source.may_substitute(node):
            return found
        for sub in _substitutions(node):
            for inner in sub.named_children:
                before = len(self.seen)
                self.statement(inner)
                found.extend(self.seen[before:])
        return found

    def judge(self, command: Command, upstream: list[Command]) -> None:
        if not command.upstream:  # (a here-string of unknown text stands as its upstream: it wins over a pipe)
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
        kind = node.type
        if kind == "word":  # most words: one plain word, nothing to split
            return [self.plain(node)]
        value = self.word(node)
        if value is None or not value.strip():
            return [value]
        unquoted = kind in _EXPANSIONS or (
            kind == "concatenation" and any(child.type in _EXPANSIONS for child in node.children)
        )
        if not unquoted:
            return [value]
        return list(value.split())

    def plain(self, node: Node) -> str:
        """A ``word`` node's value: its text with backslash escapes removed."""
        text = self.source.of(node)
        return _unescape(text) if "\\" in text else text

    def word(self, node: Node) -> str | None:
        """The static value of a word, or None when it is known only at run time."""
        kind = node.type
        if kind == "word":
            return self.plain(node)
        if kind in ("number", "string_content", "heredoc_body"):
            return self.source.of(node)
        if kind == "raw_string":
            return self.source.of(node)[1:-1]
        if kind == "ansi_c_string":
            return _ansi_c(self.source.of(node)[2:-1])
        if kind in ("simple_expansion", "expansion"):  # ``$name``, ``${name}``: a variable set earlier
            children = node.named_children
            if len(children) != 1 or children[0].type not in ("variable_name", "special_variable_name"):
                return None
            return self.variables.get(self.source.of(children[0]))
        if kind in ("string", "concatenation", "translated_string"):
            parts: list[str] = []
            known = True
            for child in node.named_children:  # all of them, also after an unknown one (as it always was)
                part = self.word(child)
                if part is None:
                    known = False
                else:
                    parts.append(part)
            return "".join(parts) if known else None
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

    def is_shell(self, node: Node) -> bool:
        """Whether a shell runs somewhere in ``node`` (a heredoc fed to it is shell code)."""
        return any(
            c.type == "command_name" and self.source.of(c).rsplit("/", 1)[-1] in shell_rules.SHELLS for c in _walk(node)
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
_IFS = re.compile(r"\$\{?IFS")
#: A command written with letters, digits and ``_./,:+%@~-`` only (and ``=`` inside an argument):
#: no quotes, escapes, expansions, substitutions, redirections or assignments, so Bash's words are
#: the text split on blanks. Reading that once is cheaper than visiting every word's node.
_PLAIN_COMMAND = re.compile(r"[\w./,:+%@~-]+(?:[ \t]+[\w./,:+%@~-][\w./,:+%@~=-]*)*", re.ASCII)


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


def _line(node: Node) -> int:
    return node.start_point.row + 1


_ESCAPED = re.compile(r"\\(.)", re.S)


def _unescape(text: str) -> str:
    return _ESCAPED.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def _ansi_c(body: str) -> str | None:
    try:
        return codecs.decode(body.encode("latin-1", "backslashreplace"), "unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return None
