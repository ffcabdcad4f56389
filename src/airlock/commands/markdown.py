"""Reading a command file: YAML frontmatter between ``---`` lines, then a markdown body whose first
fenced code block is the command's script::

    ---
    name: hello
    description: Greets someone
    parameters:
      - {name: who, type: string, default: World}
    ---
    # Hello

    ```bash
    echo "Hello, {{who}}!"
    ```

The file is UTF-8, at most 1 MiB, and its first line is ``---``; the frontmatter ends at the next line
that is ``---``. It is YAML read safely (``yaml.safe_load``'s types, and no aliases, which could make
a small file expand without bound) and holds a mapping, checked against ``CommandDefinition``. The
script is the body's first fenced block (CommonMark's fences, as ``airlock.llm.blocks`` reads them);
its tag says how it runs: none, ``bash``, ``sh`` or ``shell``: Bash; ``python``, ``py`` or
``python3``: Python; any other tag is refused, as is a body without a block. Put examples after it.

Every problem is reported with the file and its line: a YAML error where the parser stopped, a schema
error at the key it is about (a missing key: at the frontmatter's first line), a placeholder error
at the placeholder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from airlock.commands.schema import FRONTMATTER_KEYS, CommandDefinition, Parameter, ParameterValidation, Script
from airlock.commands.script import find_slots
from airlock.errors import DefinitionError, UnknownLanguage
from airlock.llm.blocks import extract_code_blocks

__all__ = ["MAX_FILE_BYTES", "load_definition", "parse_definition"]

MAX_FILE_BYTES = 1024 * 1024
#: Fields of ``CommandDefinition`` that the loader fills in: never keys of the file.
_LOADERS_KEYS = frozenset(CommandDefinition.model_fields) - FRONTMATTER_KEYS
#: Keys whose problems a model's own check reports as "key: message".
_ITEM_KEYS = frozenset(Parameter.model_fields) | frozenset(ParameterValidation.model_fields)
#: Keys that may be spelled another way in the file.
_SPELLINGS = {"default": ("default", "default_value")}

_Problems = list[tuple[int | None, str]]


def load_definition(path: Path) -> CommandDefinition:
    """The command in ``path``, or ``DefinitionError`` with every problem found and its line."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DefinitionError(str(path), [(None, f"{size} bytes; a command file holds at most {MAX_FILE_BYTES}")])
        raw = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(str(path), [(None, f"cannot read it: {exc.strerror}")]) from exc
    return parse_definition(raw, str(path))


def parse_definition(raw: bytes | str, source: str = "<command>") -> CommandDefinition:
    """The command in ``raw`` (a file's content; ``source`` names it in errors)."""
    text = _decoded(raw, source)
    lines = text.splitlines()
    if not lines or lines[0].rstrip() != "---":
        raise DefinitionError(source, [(1, "no frontmatter: the file must begin with a line '---'")])
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "---"), None)
    if end is None:
        raise DefinitionError(source, [(1, "the frontmatter is not closed: no second line '---'")])
    node, data = _frontmatter("\n".join(lines[1:end]), source)
    definition = _validated(data, node, source)
    script = _script(definition, "\n".join(lines[end + 1 :]), end + 2, source)
    return definition.model_copy(update={"script": script, "source": source, "lines": _key_lines(node)})


def _decoded(raw: bytes | str, source: str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DefinitionError(source, [(line, "not UTF-8 text")]) from None


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without aliases."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in a command", mark)
        return super().compose_node(parent, index)


def _frontmatter(text: str, source: str) -> tuple[Node, dict[str, Any]]:
    """The frontmatter's node tree (for lines) and its data; lines count from the file's line 2."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark is not None else 1
        raise DefinitionError(source, [(line, f"invalid YAML: {exc.problem or exc.context}")]) from None
    except yaml.YAMLError as exc:
        raise DefinitionError(source, [(1, f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    if node is None or not isinstance(data, dict):
        raise DefinitionError(source, [(2, "the frontmatter must be a mapping with at least name and description")])
    twice = _keys_given_twice(node)
    if twice:
        raise DefinitionError(source, twice)
    return node, data


def _keys_given_twice(node: Node) -> _Problems:
    """YAML keeps the last of two equal keys; a command file may not have them."""
    problems: _Problems = []
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, MappingNode):
            seen: dict[str, int] = {}
            for key, value in current.value:
                line = key.start_mark.line + 2
                if isinstance(key, ScalarNode) and key.value in seen:
                    problems.append((line, f"{key.value}: the key is given twice (first on line {seen[key.value]})"))
                elif isinstance(key, ScalarNode):
                    seen[key.value] = line
                pending.append(value)
        elif isinstance(current, SequenceNode):
            pending.extend(current.value)
    return sorted(problems)


def _validated(data: dict[str, Any], node: Node, source: str) -> CommandDefinition:
    problems: _Problems = [
        (_line_of(node, (key,)), f"{key}: unknown key") for key in data if isinstance(key, str) and key in _LOADERS_KEYS
    ]
    placeholder = Script(language="bash", code="", line=0)
    try:
        definition = CommandDefinition.model_validate({**data, "script": placeholder})
    except ValidationError as exc:
        problems += [_problem(error, node) for error in exc.errors(include_url=False)]
        problems.sort(key=lambda p: p[0] or 0)
        raise DefinitionError(source, problems) from None
    if problems:
        raise DefinitionError(source, problems)
    return definition


def _problem(error: Any, node: Node) -> tuple[int, str]:
    loc = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    key, sep, rest = message.partition(": ")
    if sep and key in _ITEM_KEYS:  # a check across keys of one item names the key it is about
        loc, message = (*loc, key), rest
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    return _line_of(node, loc), f"{where}: {message}" if where else message


def _line_of(node: Node, loc: tuple[Any, ...]) -> int:
    """The file's line of the key (or list item) that ``loc`` leads to, or of the nearest one above it."""
    line = node.start_mark.line
    for part in loc:
        if isinstance(node, MappingNode) and isinstance(part, str):
            names = _SPELLINGS.get(part, (part,))
            found = [(k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value in names]
            if not found:
                break
            line, node = found[0][0].start_mark.line, found[0][1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        elif not isinstance(part, str) or not part.startswith(("function-", "union", "json-or-python")):
            break
    return line + 2


def _key_lines(node: Node) -> dict[str, int]:
    """Lines of the top-level keys, and of each alias (``aliases[0]``), for the registry's reports."""
    lines: dict[str, int] = {}
    for key, value in node.value if isinstance(node, MappingNode) else ():
        if isinstance(key, ScalarNode):
            lines[str(key.value)] = key.start_mark.line + 2
            if key.value == "aliases" and isinstance(value, SequenceNode):
                lines.update({f"aliases[{i}]": item.start_mark.line + 2 for i, item in enumerate(value.value)})
    return lines


def _script(definition: CommandDefinition, body: str, body_line: int, source: str) -> Script:
    """The body's first fenced block, its language and placeholders; ``body_line`` is the body's first line."""
    blocks = extract_code_blocks(body)
    if not blocks:
        raise DefinitionError(
            source, [(body_line, "no script: the body needs a fenced code block (```bash or ```python)")]
        )
    block = blocks[0]
    fence = body_line + block.line - 1
    if not block.closed:
        raise DefinitionError(source, [(fence, "the script's code block is not closed")])
    language = _language(block.tag)
    if language is None:
        tag = block.tag or "(none)"
        raise DefinitionError(
            source, [(fence, f"the script is the first code block; its tag {tag} is not bash or python")]
        )
    types = {p.name: p.type for p in definition.parameters}
    slots, problems = find_slots(block.code, language, types)
    if problems:
        raise DefinitionError(source, [(fence + 1 + line, message) for line, message in problems])
    return Script(language=language, code=block.code, line=fence + 1, slots=slots)


def _language(tag: str) -> Literal["bash", "python"] | None:
    if not tag:
        return "bash"
    from airlock.languages import get_language

    try:
        name = get_language(tag).name
    except UnknownLanguage:
        return None
    if name == "python":
        return "python"
    return "bash" if name == "bash" else None
