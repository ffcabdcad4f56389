"""Where a ``{{name}}`` placeholder may stand in a Bash script: an allowlist, checked when the file is
loaded (tree-sitter's Bash grammar). Anywhere else, the file is refused with the placeholder's line.

A value is an environment variable of the run and its placeholder a quoted reference to it
(``airlock.commands.script``), so the substitution never makes a value into shell code. What could
still read it as code is whatever receives it: ``eval``, ``sh -c``, ``find -exec``, arithmetic, a
variable's name, a shell fed through a pipe, a file run later. So a placeholder is accepted only

* as an argument of a simple command whose name is a plain word in ``PROGRAMS``, programs that take
  their arguments as data: a whole word (``{{x}}``; an array must be one), part of a plain word
  (``--name={{x}}``, ``./{{x}}``), or inside a double-quoted string (``"{{dir}}/VERSION"``); or
* as an operand of a ``[ ]`` or ``[[ ]]`` test of one comparison: ``=``, ``==`` or ``!=``, or one of
  ``TEST_OPERATORS`` (``[ -z {{x}} ]``, ``[ ! -e {{x}} ]``);

and only where that command's output reaches no reader of code: it stands at the top of the script
or in ``if``, ``while``, ``until``, ``for`` and ``case`` bodies, ``{ }``, ``( )``, ``&&`` and ``||``;
never in a function's body, ``$( )``, ``<( )`` or arithmetic; piped only into ``READERS`` (filters
that write only to their output: never ``tee``, ``sort -o`` or ``cp /dev/stdin``); its output
redirected only to ``/dev/null``, ``/dev/stdout``, ``/dev/stderr`` or to descriptors 1 and 2 (a file
could be run later). Options are checked too (as Bash passes them: quotes and backslashes removed):

* ``printf``'s first argument (after an optional ``--``) is a literal format, so never ``-v``;
* a value may not be part of an option's name (``-{{x}}``); an option's value is fine (``--glob={{x}}``);
* ``REFUSED_OPTIONS`` (``find -exec``, ``rg --pre``, ``sort --compress-program``, ``tar --to-command``
  ...) may not appear in a command that holds a placeholder (nor a prefix of them, as getopt_long
  accepts, nor a short one in a cluster); in those four programs every other argument must be
  literal text, so that each option can be checked; ``tar`` needs ``--force-local`` (``host:file``
  would name a remote archive) and never takes a value as its first argument (old-style options);
* a word that begins with a value has the value refused at run time when it begins with ``-`` (it
  would be an option: ``ParameterError``), even after ``--`` (an option before it may take ``--`` as
  its value); ``echo``'s, ``exit``'s and ``printf``'s (after the format) take any value.

A script with placeholders may not define a function named like a program of ``PROGRAMS``, use
``alias``, ``enable``, ``exec`` or ``hash`` (they change what a name, or the output, means), nor read
``$_`` (the last argument of the command before: a value).

Everything else is refused: assignments (``x={{v}}``: the variable could go anywhere; put the
placeholder where the value is needed), arithmetic, ``eval``, ``source``, shells, wrappers (``env``,
``command``, ``exec``, ``xargs``, ``timeout`` ...), ``cd`` (``$PWD`` would hold the value), a
command's name, redirections, heredocs, comments, single quotes, ``${...}``. A script may also read
the values itself (``"$AIRLOCK_PARAM_x"``): that is its author's code, which this check does not
cover; the policy judges it with the values inlined (``inline_values``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from airlock.commands.schema import ParameterType, Slot

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

__all__ = ["PROGRAMS", "READERS", "REFUSED_OPTIONS", "TEST_OPERATORS", "bash_slots", "inline_values"]

#: Programs whose arguments a value may be: each takes them as data (text, paths, patterns).
PROGRAMS = frozenset(
    {
        "basename", "cat", "chmod", "cp", "cut", "dirname", "du", "echo", "exit", "find", "grep", "gzip",
        "head", "ln", "ls", "mkdir", "mv", "printf", "realpath", "rg", "rm", "sha256sum", "sort", "stat",
        "tail", "tar", "touch", "tr", "uniq", "wc",
    }
)  # fmt: skip
#: What a value's output may be piped into: filters that write only to their own output.
READERS = frozenset({"cat", "cut", "grep", "head", "rg", "sha256sum", "sort", "tail", "tr", "wc"})
#: Options that run a program (or write files a value could fill): refused in a command with a placeholder.
REFUSED_OPTIONS: Mapping[str, tuple[str, ...]] = {
    "find": ("-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls"),
    "rg": ("--pre", "--hostname-bin"),
    "sort": ("--compress-program", "-o", "--output"),
    "tar": (
        "-I",
        "-F",
        "--use-compress-program",
        "--to-command",
        "--checkpoint-action",
        "--info-script",
        "--new-volume-script",
        "--rsh-command",
        "--rmt-command",
    ),
}
#: The unary tests a value may be the operand of (file and string tests; never -v, which reads a name).
TEST_OPERATORS = frozenset({"-z", "-n", "-e", "-f", "-d", "-s", "-r", "-w", "-x", "-L", "-h"})

_COMPARISONS = frozenset({"=", "==", "!="})
_ANY_VALUE = frozenset({"echo", "printf", "exit"})  # options harmless, or none after the format
_FORBIDDEN_COMMANDS = frozenset({"alias", "enable", "exec", "hash"})
#: Nodes that may stand between a placeholder and the argument it is part of.
_IN_ARGUMENT = frozenset({"string", "concatenation"})
#: Constructs a command holding a placeholder may stand in (a pipeline and a redirection: checked).
_CONTAINERS = frozenset(
    {
        "list", "compound_statement", "subshell", "if_statement", "elif_clause", "else_clause",
        "while_statement", "for_statement", "c_style_for_statement", "do_group", "case_statement",
        "case_item", "negated_command",
    }
)  # fmt: skip
_HARMLESS_OUTPUTS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "1", "2"})
_WHERE = {
    "raw_string": "is inside single quotes, where it would stay literal text: use double quotes or none",
    "ansi_c_string": "is inside single quotes, where it would stay literal text: use double quotes or none",
    "comment": "is inside a comment",
    "heredoc_body": "is inside a heredoc, whose reader may run it as code: pass it as an argument instead",
    "heredoc_start": "is inside a heredoc, whose reader may run it as code: pass it as an argument instead",
    "variable_name": "is part of a variable's name",
    "simple_expansion": "is inside a ${...} expansion",
    "expansion": "is inside a ${...} expansion",
    "command_name": "stands where the command's name goes: a value may not choose the program",
    "variable_assignment": "is assigned to a variable, which could then go anywhere: put the placeholder "
    "where the value is needed (or read $AIRLOCK_PARAM_<name> in your own code)",
    "array": "is in an array, which could then go anywhere: put the placeholder where the value is needed",
    "for_statement": "is in a for loop's list: loop over it with the values as arguments of a program instead",
    "case_statement": "is a case statement's word: compare it in a [ ] test instead",
    "function_definition": "is a function's name",
    "file_redirect": "is in a redirection: a value may not choose where input or output goes",
    "herestring_redirect": "is a here-string, whose reader may run it as code: pass it as an argument instead",
    "declaration_command": "is an argument of declare, export, local or readonly, which take variable names",
}
_INSIDE = {
    "function_definition": "is inside a function's body: what the function prints goes wherever it is called",
    "command_substitution": "is inside $( ): its output becomes text the script may run",
    "process_substitution": "is inside <( ) or >( ): its output becomes text the script may run",
}

_Problem = tuple[int, str]


@cache
def _parser() -> Parser:
    import tree_sitter_bash
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bash.language()))


def bash_slots(
    code: str, found: list[re.Match[str]], types: Mapping[str, ParameterType]
) -> tuple[list[Slot], list[_Problem]]:
    """Each placeholder of ``found`` (in ``code``) and how it renders; or the problems that refuse it."""
    masked = bytearray(code.encode())
    spans = [(len(code[: m.start()].encode()), len(code[: m.end()].encode())) for m in found]
    for start, end in spans:
        masked[start:end] = b"Z" * (end - start)  # a word of the same length: the script parses as it will run
    source = bytes(masked)
    tree = _parser().parse(source)
    if tree.root_node.has_error:
        return [], [
            (_first_error_line(tree.root_node), "the Bash script does not parse, so its placeholders cannot be placed")
        ]
    script = _Script(source, spans)
    problems: list[_Problem] = list(script.refusals(tree.root_node)) if found else []
    slots = []
    for m, (start, end) in zip(found, spans, strict=True):
        node = tree.root_node.descendant_for_byte_range(start, end)
        assert node is not None
        placed = script.place(node, start, end, types[m[1]])
        if isinstance(placed, str):
            problems.append((code.count("\n", 0, m.start()), f"{m[0]} {placed}"))
        else:
            context, whole, dash = placed
            slots.append(
                Slot(start=m.start(), end=m.end(), name=m[1], context=context, whole_word=whole, refuse_dash=dash)
            )
    return slots, sorted(problems)


class _Script:
    """One parsed (masked) script and its placeholders' byte spans."""

    def __init__(self, source: bytes, spans: list[tuple[int, int]]) -> None:
        self.source, self.spans = source, spans

    def text(self, node: Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode()

    def holds_placeholder(self, node: Node) -> bool:
        return any(node.start_byte <= start and end <= node.end_byte for start, end in self.spans)

    # -- the whole script ----------------------------------------------------------------------------
    def refusals(self, root: Node) -> list[_Problem]:
        """Functions named like an allowed program; alias, enable, exec, hash; ``$_``."""
        problems = []
        pending = [root]
        while pending:
            node = pending.pop()
            pending.extend(node.children)
            name = node.child_by_field_name("name") if node.type == "function_definition" else None
            if name is not None and self.text(name) in PROGRAMS | {"[", "test"}:
                message = f"defines a function {self.text(name)}, the name of a program a value may reach: rename it"
            elif node.type == "command" and self.program(node) in _FORBIDDEN_COMMANDS:
                message = (
                    f"uses {self.program(node)}, which changes what a name or the output means: not with placeholders"
                )
            elif node.type == "special_variable_name" and self.text(node) == "_":
                message = "reads $_, the last argument of the command before (a value): not with placeholders"
            else:
                continue
            problems.append((int(node.start_point[0]), message))
        return problems

    # -- one placeholder -------------------------------------------------------------------------------
    def place(self, node: Node, start: int, end: int, kind: ParameterType) -> str | tuple[str, bool, bool]:
        """(context, whole word, refuse a leading '-') for the placeholder at ``node``, or why not there."""
        if _in_arithmetic(node, self.source):
            return "is in arithmetic, where Bash evaluates a value as code"
        if node.type not in ("word", "string_content"):
            return _WHERE.get(node.type, f"may not stand here ({node.type})")
        child, current = node, node.parent
        quoted = False
        while current is not None and current.type in _IN_ARGUMENT:
            quoted = quoted or current.type == "string"
            child, current = current, current.parent
        if current is None:
            return "may not stand here"
        whole = node.type == "word" and child is node and (node.start_byte, node.end_byte) == (start, end)
        context = "quoted" if quoted else "word"
        if kind is ParameterType.ARRAY and not (whole and current.type == "command"):
            return "is an array: it must stand as a whole argument of a program (its elements become separate words)"
        if current.type == "command":
            if current.field_name_for_child(_index(current, child)) != "argument":
                return "is not an argument of its command (a redirection or an assignment): pass it as an argument"
            refusal = self.argument(current, child, start)
            if isinstance(refusal, str):
                return refusal
            return context, whole, refusal
        if current.type in ("binary_expression", "unary_expression"):
            return self.test(current, child) or (context, whole, False)
        return _WHERE.get(current.type) or _INSIDE.get(current.type) or f"may not stand here ({current.type})"

    def argument(self, command: Node, argument: Node, start: int) -> str | bool:
        """Why the placeholder may not be this argument; else whether to refuse a leading '-' in it."""
        program = self.program(command)
        if program not in PROGRAMS:
            shown = program or "a command whose name is not a plain word"
            return (
                f"is an argument of {shown}, which is not among the programs a value may reach "
                f"({', '.join(sorted(PROGRAMS))}): see airlock.commands.bash"
            )
        arguments = command.children_by_field_name("argument")
        position = next(i for i, a in enumerate(arguments) if a.id == argument.id)
        prefix = self.prefix(argument, start)
        refusal = (
            self.flow(command)
            or self.options(program, arguments)
            or self.printf(program, arguments, position)
            or self.tar(program, arguments, position)
        )
        if refusal is not None:
            return refusal
        if program in _ANY_VALUE:
            return False
        if prefix.startswith("-") and "=" not in prefix:
            return "is part of an option's name: give it as the option's value (--name={{x}}) or as a word"
        return not prefix

    def prefix(self, argument: Node, start: int) -> str:
        """The argument's text before the placeholder as Bash passes it, without other placeholders."""
        before = bytearray(self.source[argument.start_byte : start])
        for span_start, span_end in sorted(self.spans, reverse=True):
            if argument.start_byte <= span_start and span_end <= start:
                del before[span_start - argument.start_byte : span_end - argument.start_byte]
        return _unquoted(before.decode())

    def literal(self, node: Node) -> bool:
        """Text that expands to itself: no variable, substitution or glob (which could spell an option)."""
        if self.holds_placeholder(node):
            return False
        if node.type in ("word", "number"):
            return not any(char in self.text(node) for char in "*?[{")
        if node.type == "raw_string":
            return True
        if node.type == "string":
            return all(child.type == "string_content" for child in node.named_children)
        if node.type == "concatenation":
            return all(self.literal(child) for child in node.named_children)
        return False

    def options(self, program: str, arguments: list[Node]) -> str | None:
        refused = REFUSED_OPTIONS.get(program)
        if refused is None:
            return None
        for i, argument in enumerate(arguments):
            if not (self.literal(argument) or self.holds_placeholder(argument)):
                return (
                    f"is an argument of {program}, whose other arguments must be literal text (a variable "
                    f"could hold an option such as {refused[0]}, which runs a program)"
                )
            text = _unquoted(self.text(argument))
            cluster = i == 0 and program == "tar" and not text.startswith("-")  # tar's old-style options
            option = _refused_option(f"-{text}" if cluster else text, refused)
            if option is not None:
                return f"is an argument of {program} {option}, which runs a program or writes a file"
        return None

    def printf(self, program: str, arguments: list[Node], position: int) -> str | None:
        if program != "printf":
            return None
        index = 1 if arguments and _unquoted(self.text(arguments[0])) == "--" else 0
        if position <= index:
            return "may not be printf's format: give a literal format first ('%s\\n')"
        if not self.literal(arguments[index]):
            return "is an argument of printf, whose format must be literal text (printf -v would name a variable)"
        if _unquoted(self.text(arguments[index])).startswith("-"):
            return "is an argument of printf with an option (printf -v names a variable)"
        return None

    def tar(self, program: str, arguments: list[Node], position: int) -> str | None:
        if program != "tar":
            return None
        if position == 0:
            return "may not be tar's first argument (old-style options)"
        if not any(_unquoted(self.text(a)) == "--force-local" for a in arguments):
            return "is an argument of tar without --force-local (host:file would name a remote archive)"
        return None

    def flow(self, command: Node) -> str | None:
        """Why the command's output could reach a reader of code; None when it cannot."""
        problem = self.redirects(command.children_by_field_name("redirect"))
        child, current = command, command.parent
        while problem is None and current is not None and current.type != "program":
            if current.type == "pipeline":
                problem = self.pipeline(current, child)
            elif current.type == "redirected_statement":
                problem = self.redirects(current.children_by_field_name("redirect"))
            elif current.type not in _CONTAINERS:
                problem = _INSIDE.get(current.type, f"is inside {current.type.replace('_', ' ')}")
            child, current = current, current.parent
        return problem

    def pipeline(self, pipeline: Node, stage: Node) -> str | None:
        """Every stage after the command's reads its output: each must be a program of ``PROGRAMS``."""
        later = [c for c in pipeline.named_children if c.start_byte > stage.start_byte and c.type != "comment"]
        for reader in later:
            name = self.program(reader) if reader.type == "command" else None
            if name is None or name not in READERS or self.options(name, reader.children_by_field_name("argument")):
                shown = name or reader.type.replace("_", " ")
                return (
                    f"is piped into {shown}, which may read it as code or keep it in a file: a value's output may "
                    f"go only to {', '.join(sorted(READERS))}"
                )
        return None

    def redirects(self, redirects: list[Node]) -> str | None:
        for redirect in redirects:
            if redirect.type != "file_redirect":
                continue  # a heredoc or a here-string: input
            operator = next((self.text(c) for c in redirect.children if not c.is_named), "")
            targets = [self.text(d) for d in redirect.children_by_field_name("destination")]
            if ">" in operator and not all(t in _HARMLESS_OUTPUTS for t in targets):
                return (
                    f"has its output redirected to a file ({self.text(redirect)}), which could be run later: "
                    "only to /dev/null, /dev/stdout, /dev/stderr, &1 or &2"
                )
        return None

    def test(self, expression: Node, operand: Node) -> str | None:
        """Why the operand of this ``[ ]`` test may not be a value; None when it may."""
        operator_node = expression.child_by_field_name("operator")
        operator = self.text(operator_node) if operator_node is not None else ""
        allowed = _COMPARISONS if expression.type == "binary_expression" else TEST_OPERATORS
        if operator not in allowed:
            return (
                f"is an operand of the test {operator or '?'}: a value may be compared (=, ==, !=) or "
                f"tested ({', '.join(sorted(TEST_OPERATORS))}), never read as a number or a name"
            )
        if operand.type not in ("word", "string", "concatenation"):
            return "is inside a nested test expression"
        parent = expression.parent
        if parent is not None and parent.type == "unary_expression" and self.text(parent).startswith("!"):
            parent = parent.parent
        if parent is None or parent.type != "test_command":
            return "is in a test of more than one comparison: test it alone, [ {{x}} = y ] && [ ... ]"
        return self.flow(parent)

    def program(self, command: Node) -> str | None:
        """The command's name when it is a plain word (no quotes, expansion or placeholder)."""
        name = command.child_by_field_name("name")
        if name is None or name.named_child_count != 1 or name.named_children[0].type != "word":
            return None
        return None if self.holds_placeholder(name) else self.text(name)


def _unquoted(text: str) -> str:
    """Literal text as Bash passes it to the program: without quotes and backslashes."""
    return re.sub(r"\\(.)", r"\1", text).replace('"', "").replace("'", "")


def _refused_option(text: str, refused: tuple[str, ...]) -> str | None:
    """The refused option ``text`` spells: exactly, as an unambiguous prefix of a long option
    (``--to-com=sh``), or inside a cluster of short ones (``-cIf``)."""
    name = text.split("=", 1)[0]
    for option in refused:
        if option.startswith("--"):
            if len(name) > 2 and name.startswith("--") and option.startswith(name):
                return option
        elif len(option) == 2:
            if text.startswith("-") and not text.startswith("--") and option[1] in text[1:]:
                return option
        elif name == option:
            return option
    return None


def _in_arithmetic(node: Node, source: bytes) -> bool:
    """Inside ``$(( ))``, ``(( ))``, ``for (( ))`` or an array's subscript."""
    current: Node | None = node
    while current is not None:
        if current.type in ("arithmetic_expansion", "subscript", "c_style_for_statement"):
            return True
        if current.type == "compound_statement" and source[current.start_byte : current.start_byte + 2] == b"((":
            return True
        current = current.parent
    return False


def _index(parent: Node, child: Node) -> int:
    return next(i for i, c in enumerate(parent.children) if c.id == child.id)


def _first_error_line(root: Node) -> int:
    pending = [root]
    while pending:
        node = pending.pop(0)
        if node.type == "ERROR" or node.is_missing:
            return int(node.start_point[0])
        pending.extend(node.children)
    return 0


# -- the policy's copy ------------------------------------------------------------------------------------
def inline_values(code: str, env: Mapping[str, str], prefix: str) -> str:
    """``code`` with every plain reference to a ``prefix`` variable (``"${P_x}"``, ``$P_x``) replaced by
    its value from ``env`` as Bash would read it there (``shlex.quote``, or escaped inside double
    quotes); a variable ``env`` lacks is empty. For the policy's analysis: never run."""
    source = code.encode()
    tree = _parser().parse(source)
    edits: list[tuple[int, int, str]] = []
    pending = [tree.root_node]
    while pending:
        node = pending.pop()
        name = _plain_reference(node, source)
        if name is None or not name.startswith(prefix):
            pending.extend(node.children)
            continue
        value = env.get(name, "")
        parent = node.parent
        if parent is not None and parent.type == "string" and [c.id for c in parent.named_children] == [node.id]:
            edits.append((parent.start_byte, parent.end_byte, shlex.quote(value)))
        elif parent is not None and parent.type == "string":
            edits.append((node.start_byte, node.end_byte, re.sub(r'([\\"$`])', r"\\\1", value)))
        elif parent is not None and parent.type == "heredoc_body":
            edits.append((node.start_byte, node.end_byte, value))
        else:
            edits.append((node.start_byte, node.end_byte, shlex.quote(value)))
    out = source
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text.encode() + out[end:]
    return out.decode()


def _plain_reference(node: Node, source: bytes) -> str | None:
    """The variable of ``$name`` or ``${name}``; None for anything else (``${name:-x}`` too)."""
    if node.type not in ("simple_expansion", "expansion"):
        return None
    named = node.named_children
    plain = node.child_count == (2 if node.type == "simple_expansion" else 3)
    if not plain or len(named) != 1 or named[0].type != "variable_name":
        return None
    return source[named[0].start_byte : named[0].end_byte].decode()
