"""A command's script and its ``{{name}}`` placeholders: where each stands, and how a value gets
there without ever being read as code.

**Bash.** Values never enter the script's text. Each is an environment variable of the execution,
``AIRLOCK_PARAM_<name>`` (an array's elements ``AIRLOCK_PARAM_<i>_<name>``), and the placeholder
becomes a quoted reference to it, whose expansion Bash does not parse again:

    where the placeholder stands              it becomes
    a word, or part of one (``--x={{x}}``)    "${AIRLOCK_PARAM_x}"
    inside double quotes                      ${AIRLOCK_PARAM_x}

An array is its elements as separate quoted words. Where a placeholder may stand at all is an
allowlist (``airlock.commands.bash``): an argument of a program that takes its arguments as data, or
an operand of a ``[ ]`` test, whose output reaches no reader of code; the loader refuses the file
anywhere else. Where a value begins a word of a program's arguments, a value that begins with ``-``
is refused at run time: it would be an option (``ParameterError``).

**Python.** A placeholder must stand on its own where an expression goes (a name token, not inside
a string or a comment), and becomes the value as a Python literal (``repr`` of a str, int, float,
bool, None, list or dict), so the code around it cannot change. What the script then does with that
value is its author's code, as is a Bash script's own use of ``$AIRLOCK_PARAM_<name>``.

An optional parameter with no value and no default is the empty string in Bash (an empty array is
no word at all) and ``None`` in Python.

``analysed_copy`` is what the policy also judges: the rendered script with each value inlined as
Bash or Python would read it, so that a value such as a path is seen (``airlock.commands.run``).
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from collections.abc import Mapping
from typing import Any

from airlock.commands.bash import bash_slots, inline_values
from airlock.commands.schema import Parameter, ParameterType, Script, Slot
from airlock.errors import ParameterError

__all__ = ["ENV_PREFIX", "PLACEHOLDER", "Problem", "analysed_copy", "find_slots", "render"]

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}")
ENV_PREFIX = "AIRLOCK_PARAM_"
#: (0-based line of the script, message)
Problem = tuple[int, str]


def find_slots(code: str, language: str, types: Mapping[str, ParameterType]) -> tuple[list[Slot], list[Problem]]:
    """The placeholders of ``code`` and how each is rendered; or the problems that refuse the script."""
    found = list(PLACEHOLDER.finditer(code))
    problems = [
        (_line(code, m.start()), f"{{{{{m[1]}}}}} names no parameter (there are: {', '.join(types) or 'none'})")
        for m in found
        if m[1] not in types
    ]
    if problems:
        return [], problems
    if language == "python":
        return _python_slots(code, found)
    if not found:
        return [], []
    return bash_slots(code, found, types)


def render(
    script: Script, parameters: Mapping[str, Parameter], values: Mapping[str, Any]
) -> tuple[str, dict[str, str]]:
    """The code to run and its environment, from validated ``values`` (absent: no value)."""
    env: dict[str, str] = {}
    if script.language == "bash":
        for name, value in values.items():
            if isinstance(value, list):
                env.update({f"{ENV_PREFIX}{i}_{name}": _text(item) for i, item in enumerate(value)})
            elif value is not None:
                env[f"{ENV_PREFIX}{name}"] = _text(value)
    code = script.code
    for slot in sorted(script.slots, key=lambda s: s.start, reverse=True):
        value = values.get(slot.name)
        code = code[: slot.start] + _rendered(slot, parameters[slot.name], value) + code[slot.end :]
    return code, env


def analysed_copy(script: Script, code: str, env: Mapping[str, str]) -> str:
    """The rendered ``code`` with its values inlined, for the policy to judge (never to run): in Bash,
    each plain reference to an ``AIRLOCK_PARAM_`` variable (the placeholders', and the script's own)
    becomes the value quoted as Bash reads it there; Python's code already holds its values."""
    return inline_values(code, env, ENV_PREFIX) if script.language == "bash" else code


def _rendered(slot: Slot, parameter: Parameter, value: Any) -> str:
    if slot.context == "python":
        return "None" if value is None else f"({value!r})"
    if slot.refuse_dash:
        _refuse_options(parameter, value)
    if isinstance(value, list):
        refs = [f"${{{ENV_PREFIX}{i}_{slot.name}}}" for i in range(len(value))]
        return " ".join(f'"{ref}"' if slot.context == "word" else ref for ref in refs)
    if value is None:
        return '""' if slot.context == "word" else ""
    ref = f"${{{ENV_PREFIX}{slot.name}}}"
    return f'"{ref}"' if slot.context == "word" else ref


def _refuse_options(parameter: Parameter, value: Any) -> None:
    """A value that would be read as an option where the script puts it."""
    for item in value if isinstance(value, list) else [value]:
        if item is not None and _text(item).startswith("-"):
            raise ParameterError(
                f"the value {_text(item)!r} of {parameter.name!r} begins with '-', and where the script puts it "
                "the program would read it as an option (the command's author can put -- before it)"
            )


def _text(value: Any) -> str:
    """A value as the text of an environment variable."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _line(code: str, offset: int) -> int:
    return code.count("\n", 0, offset)


# -- Python ------------------------------------------------------------------------------------------
def _python_slots(code: str, found: list[re.Match[str]]) -> tuple[list[Slot], list[Problem]]:
    """The script must compile with each placeholder as a parenthesised expression (the shape of
    what it becomes), and each placeholder must be a name token of its own (not in a string)."""
    try:
        compile(
            PLACEHOLDER.sub(lambda m: "(" + "Z" * (len(m[0]) - 2) + ")", code), "<command>", "exec", dont_inherit=True
        )
        names = _name_tokens(PLACEHOLDER.sub(lambda m: "Z" * len(m[0]), code))
    except SyntaxError as exc:
        return [], [
            (
                (exc.lineno or 1) - 1,
                f"the Python script does not parse (each placeholder counted as an expression): {exc.msg}",
            )
        ]
    except tokenize.TokenError as exc:
        return [], [(0, f"the Python script does not tokenize: {exc.args[0]}")]
    slots, problems = [], []
    for m in found:
        if (m.start(), m.end()) in names:
            slots.append(Slot(start=m.start(), end=m.end(), name=m[1], context="python"))
        else:
            problems.append(
                (
                    _line(code, m.start()),
                    f"{m[0]} must stand on its own where an expression goes, not inside a string, a comment "
                    "or a name (it becomes the value as a Python literal)",
                )
            )
    return slots, problems


def _name_tokens(code: str) -> set[tuple[int, int]]:
    """The (start, end) character offsets of every name token."""
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans = set()
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.NAME:
            (row, col), (end_row, end_col) = token.start, token.end
            spans.add((starts[row - 1] + col, starts[end_row - 1] + end_col))
    return spans
