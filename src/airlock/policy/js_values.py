"""What a JavaScript expression evaluates to, when that can be known before it runs.

``Values.fold`` gives the string an expression always evaluates to: string and template literals (escapes
decoded), ``+`` concatenations, ``const`` names that nothing shadows, and the calls that hide strings
(``String.fromCharCode``, ``atob``, ``Buffer.from(s, 'base64').toString()``, ``s.split('').reverse()
.join('')``, ``path.join``, ``os.homedir()``). Anything else is ``None``: not known, so the caller must
assume the worst. Every fold has a budget of steps and of length, so hostile code cannot make it slow.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from collections.abc import Mapping
from urllib.parse import unquote

from tree_sitter import Node

from airlock.policy.js_grammar import FIELD, args_of, called_name, kind_ids, receiver_of, text_of

__all__ = ["Values"]

_MAX_STEPS = 2000
_MAX_DEPTH = 100
_MAX_SEARCH = 64
_MAX_LENGTH = 256 * 1024
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v"}
_CONTINUATIONS = ("\n", "\r", "\u2028", "\u2029")
_WHERE = {"homedir": "~", "tmpdir": "/tmp", "cwd": "."}  # os.homedir(), os.tmpdir(), process.cwd()
#: Values known before the script runs: the home directory, and node itself (the program running it).
_KNOWN = {"process.env.HOME": "~", "process.env['HOME']": "~", 'process.env["HOME"]': "~"}
_KNOWN |= dict.fromkeys(("process.execPath", "process.argv0", "process.argv[0]"), "node")
_DECODERS = ("atob", "fromCharCode", "fromCodePoint", "decodeURIComponent", "unescape", "reverse")
_LITERAL = kind_ids("string", "template_string")
_BINARY = kind_ids("binary_expression")
_PARENTHESIZED = kind_ids("parenthesized_expression")
_IDENTIFIER = kind_ids("identifier")
_CALL = kind_ids("call_expression")
_MEMBERS = kind_ids("member_expression", "subscript_expression")
_FRAGMENT = kind_ids("string_fragment")
_ESCAPE = kind_ids("escape_sequence")
_SUBSTITUTION = kind_ids("template_substitution")


class Values:
    """Folds expressions of one script, whose unshadowed ``const`` declarations are ``consts``."""

    def __init__(self, consts: Mapping[str, Node]) -> None:
        self.consts = consts
        self._steps = self._depth = 0

    def fold(self, node: Node | None) -> str | None:
        self._steps = self._depth = 0
        return self._fold(node)

    def prefix(self, node: Node | None) -> str:
        """The text the value of ``node`` always starts with ("" when nothing is known)."""
        self._steps = self._depth = 0
        return self._prefix(node)

    def decoder(self, node: Node) -> str | None:
        """The name of a decoding call within ``node`` (``atob``, ``Buffer.from(.., 'base64')``...), looked
        for among its first ``_MAX_SEARCH`` nodes."""
        stack = [node]
        for _ in range(_MAX_SEARCH):
            if not stack:
                break
            here = stack.pop()
            if here.kind_id in _CALL and (name := self._decoding(here)):
                return name
            stack.extend(here.named_children)
        return None

    def _decoding(self, call: Node) -> str | None:
        name = called_name(call)
        if name in _DECODERS:
            return name
        if name == "from" and self._buffer_encoding(call) not in (None, "utf8", "utf-8"):
            return "Buffer.from"
        return None

    def _fold(self, node: Node | None) -> str | None:
        if node is None:
            return None
        self._steps += 1  # as _enter, inlined: this is the hot path
        if self._steps > _MAX_STEPS or self._depth >= _MAX_DEPTH:
            return None
        self._depth += 1
        try:
            return self._fold_node(node)
        finally:
            self._depth -= 1

    def _enter(self) -> bool:
        """Count a step down into an expression; False once the budget is spent."""
        self._steps += 1
        self._depth += 1
        if self._steps <= _MAX_STEPS and self._depth <= _MAX_DEPTH:
            return True
        self._depth -= 1
        return False

    def _fold_node(self, node: Node) -> str | None:
        kind = node.kind_id
        if kind in _LITERAL:
            return self._literal(node)
        if kind in _BINARY:
            return self._concat(node)
        if kind in _PARENTHESIZED and node.named_child_count == 1:
            return self._fold(node.named_children[0])
        if kind in _IDENTIFIER:
            name = node.text or b""
            return "." if name == b"__dirname" else self._fold(self.consts.get(name.decode("utf-8", "replace")))
        if kind in _CALL:
            return self._call(node)
        if kind in _MEMBERS and node.end_byte - node.start_byte < 32:
            return _KNOWN.get(text_of(node).replace(" ", ""))
        return None

    def _literal(self, node: Node, *, partial: bool = False) -> str | None:
        """A string or template literal; with ``partial``, the text up to what cannot be folded in it."""
        parts: list[str] = []
        for child in node.named_children:
            kind = child.kind_id
            if kind in _FRAGMENT:
                parts.append(text_of(child))
            elif kind in _ESCAPE:
                parts.append(_unescape(text_of(child)))
            elif kind in _SUBSTITUTION:
                value = self._fold(child.named_children[0]) if child.named_child_count == 1 else None
                if value is None:
                    return "".join(parts) if partial else None
                parts.append(value)
        return "".join(parts)

    def _concat(self, node: Node) -> str | None:
        if text_of(node.child_by_field_id(FIELD.operator) or node) != "+":
            return None
        left = self._fold(node.child_by_field_id(FIELD.left))
        right = None if left is None else self._fold(node.child_by_field_id(FIELD.right))
        if left is None or right is None or len(left) + len(right) > _MAX_LENGTH:
            return None
        return left + right

    def _call(self, node: Node) -> str | None:
        name = called_name(node)
        args = args_of(node)
        if name in _WHERE and not args:
            return _WHERE[name]
        if name in ("join", "resolve") and _receiver_text(node) == "path":
            parts = [self._fold(arg) for arg in args]
            return None if None in parts else posixpath.join(*(part or "" for part in parts))
        if name in ("fromCharCode", "fromCodePoint"):
            return _chars(args)
        if name in ("atob", "decodeURIComponent", "unescape", "String") and len(args) == 1:
            return _decode(name, self._fold(args[0]))
        if name in ("join", "concat", "toString"):
            return self._method(node, name, args)
        return None

    def _method(self, node: Node, name: str, args: list[Node]) -> str | None:
        receiver = receiver_of(node)
        if name == "concat":
            parts = [self._fold(part) for part in [receiver, *args]]
            return None if None in parts else "".join(part or "" for part in parts)
        if name == "toString":
            plain = not args or self._fold(args[0]) in ("utf8", "utf-8")
            return self._buffer(receiver) if plain and receiver is not None else None
        pieces = self._array(receiver)
        separator = self._fold(args[0]) if args else ","
        return None if pieces is None or separator is None else separator.join(pieces)

    def _array(self, node: Node | None) -> list[str] | None:
        """The strings of an array expression: a literal, ``s.split(sep)``, ``a.reverse()``."""
        if node is None or not self._enter():
            return None
        try:
            return self._array_node(node)
        finally:
            self._depth -= 1

    def _array_node(self, node: Node) -> list[str] | None:
        if node.type == "array":
            items = [self._fold(item) for item in node.named_children]
            return None if None in items else [item or "" for item in items]
        if node.type != "call_expression":
            return None
        name, args = called_name(node), args_of(node)
        if name == "reverse" and not args:
            reversed_items = self._array(receiver_of(node))
            return None if reversed_items is None else reversed_items[::-1]
        whole = self._fold(receiver_of(node)) if name == "split" and len(args) == 1 else None
        separator = None if whole is None else self._fold(args[0])
        if whole is None or separator is None:
            return None
        return list(whole) if separator == "" else whole.split(separator)

    def _buffer(self, call: Node) -> str | None:
        """``Buffer.from(literal, encoding)``, decoded as ``.toString()`` would."""
        args = args_of(call)
        encoding = self._buffer_encoding(call)
        data = self._fold(args[0]) if args and called_name(call) == "from" else None
        if data is None or encoding is None:
            return None
        try:
            raw = _bytes(data, encoding)
        except (binascii.Error, ValueError):
            return None
        return None if raw is None else raw.decode("utf-8", "replace")

    def _buffer_encoding(self, call: Node) -> str | None:
        if _receiver_text(call) != "Buffer":
            return None
        args = args_of(call)
        return "utf8" if len(args) < 2 else self._fold(args[1])

    def _prefix(self, node: Node | None) -> str:
        whole = self._fold(node)
        if whole is not None or node is None or not self._enter():
            return whole or ""
        try:
            return self._prefix_node(node)
        finally:
            self._depth -= 1

    def _prefix_node(self, node: Node) -> str:
        if node.type == "template_string":
            return self._literal(node, partial=True) or ""
        if node.type == "binary_expression" and text_of(node.child_by_field_id(FIELD.operator) or node) == "+":
            left = self._fold(node.child_by_field_id(FIELD.left))
            if left is None:
                return self._prefix(node.child_by_field_id(FIELD.left))
            return left + self._prefix(node.child_by_field_id(FIELD.right))
        if node.type == "call_expression" and called_name(node) in ("join", "resolve"):
            return self._join_prefix(node)
        return ""

    def _join_prefix(self, node: Node) -> str:
        known: list[str] = []
        for arg in args_of(node) if _receiver_text(node) == "path" else []:
            part = self._fold(arg)
            if part is None:
                return posixpath.join(*known, "") if known else ""
            known.append(part)
        return ""


def _unescape(sequence: str) -> str:
    body = sequence[1:]
    if body[:1] in ("x", "u") and len(body) > 1:
        try:
            return chr(int(body[1:].strip("{}"), 16))
        except (ValueError, OverflowError):
            return body
    if body[:1].isdigit() and body[0] < "8":
        return chr(int(body, 8))
    if body.startswith(_CONTINUATIONS):
        return ""
    return _ESCAPES.get(body, body)


def _chars(args: list[Node]) -> str | None:
    codes = [_number(arg) for arg in args]
    if None in codes:
        return None
    try:
        return "".join(chr(code or 0) for code in codes)
    except (ValueError, OverflowError):
        return None


def _number(node: Node) -> int | None:
    text = text_of(node).replace("_", "").lower()
    if node.type != "number" or not re.fullmatch(r"0x[0-9a-f]+|0o[0-7]+|0b[01]+|\d+", text):
        return None
    return int(text, 0) if not re.fullmatch(r"0\d+", text) else int(text, 8)


def _decode(name: str, text: str | None) -> str | None:
    if text is None or name == "String":
        return text
    if name != "atob":
        return unquote(text, errors="replace")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4)).decode("latin-1")
    except (binascii.Error, ValueError):
        return None


def _bytes(data: str, encoding: str) -> bytes | None:
    encoding = encoding.lower().replace("-", "")
    if encoding in ("base64", "base64url"):
        padded = data.replace("-", "+").replace("_", "/")
        return base64.b64decode(padded + "=" * (-len(padded) % 4))
    if encoding == "hex":
        return bytes.fromhex(data)
    if encoding in ("utf8", "latin1", "binary", "ascii"):
        return data.encode("utf-8" if encoding == "utf8" else "latin-1", "replace")
    return None


def _receiver_text(call: Node) -> str | None:
    receiver = receiver_of(call)
    return None if receiver is None else text_of(receiver)
