"""A command's parameters: values from the command line (``--param k=v``) or JSON, checked against
the definition before anything renders or runs.

From text (``parse_param``): a string as it is; a number as a JSON number (``3``, ``-2.5``, ``1e3``);
a boolean as ``true``/``false`` (also ``yes``/``no``, ``on``/``off``, ``1``/``0``, in any case); an
array or an object as JSON (``'["a", "b"]'``, ``'{"k": 1}'``). From JSON (the REST API), values must
already be of their parameter's kind: ``"3"`` is not a number.

``validate_params`` refuses unknown names and missing required parameters, applies defaults, and
checks each value (type, min, max, pattern, allowed values); no string may hold a NUL character (nor
one inside an array or an object, keys included), and no value be longer than ``MAX_VALUE_BYTES`` as
text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from airlock.commands.schema import CommandDefinition, Parameter, ParameterType, check_value
from airlock.errors import ParameterError

__all__ = ["MAX_VALUE_BYTES", "parse_param", "parse_params", "texts", "validate_params"]

#: A value travels in an environment variable (Linux caps one at 128 KiB), so it stays below that.
MAX_VALUE_BYTES = 64 * 1024
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def parse_params(definition: CommandDefinition, pairs: Iterable[str]) -> dict[str, Any]:
    """``["k=v", ...]`` (``--param k=v``) as typed values; a name given twice is refused."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise ParameterError(f"bad parameter {pair!r}: expected NAME=VALUE")
        if name in values:
            raise ParameterError(f"parameter {name!r} is given twice")
        parameter = definition.parameter(name)
        if parameter is None:
            raise ParameterError(_unknown(definition, name))
        values[name] = parse_param(parameter, text)
    return values


def parse_param(parameter: Parameter, text: str) -> Any:
    """The value ``text`` stands for, by the parameter's type (not yet validated)."""
    kind = parameter.type
    if kind is ParameterType.STRING:
        return text
    if kind is ParameterType.BOOLEAN:
        folded = text.strip().lower()
        if folded in _TRUE | _FALSE:
            return folded in _TRUE
        raise ParameterError(f"{parameter.name!r} is a boolean: give true or false, not {text!r}")
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    expected = {ParameterType.NUMBER: (int, float), ParameterType.ARRAY: (list,), ParameterType.OBJECT: (dict,)}[kind]
    if not isinstance(value, expected) or isinstance(value, bool):
        example = {
            ParameterType.NUMBER: "3 or 2.5",
            ParameterType.ARRAY: '["a", "b"]',
            ParameterType.OBJECT: '{"k": 1}',
        }
        raise ParameterError(
            f"{parameter.name!r} is a{'n' if kind.value[0] in 'ao' else ''} {kind.value}: "
            f"give it as JSON ({example[kind]}), not {text!r}"
        )
    return value


def validate_params(definition: CommandDefinition, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter's value (its default when not given; absent when it has neither), checked."""
    unknown = [name for name in values if definition.parameter(name) is None]
    if unknown:
        raise ParameterError(_unknown(definition, unknown[0]))
    checked: dict[str, Any] = {}
    for parameter in definition.parameters:
        if parameter.name in values:
            value = values[parameter.name]
        elif parameter.required:
            raise ParameterError(f"{definition.name}: the parameter {parameter.name!r} is required" + _about(parameter))
        elif parameter.has_default:
            value = parameter.default
        else:
            continue
        try:
            check_value(parameter, value)
        except ValueError as exc:
            raise ParameterError(f"{definition.name}: {exc}") from None
        _check_text(parameter, value)
        checked[parameter.name] = value
    return checked


def _check_text(parameter: Parameter, value: Any) -> None:
    if any("\0" in text for text in texts(value)):
        raise ParameterError(f"the value of {parameter.name!r} holds a NUL character")
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        raise ParameterError(f"the value of {parameter.name!r} is not valid Unicode text") from None
    if size > MAX_VALUE_BYTES:
        raise ParameterError(f"the value of {parameter.name!r} is longer than {MAX_VALUE_BYTES} bytes")


def texts(value: Any) -> Iterator[str]:
    """Every string of a value: itself, or those in an array or an object (its keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from texts(item)


def _about(parameter: Parameter) -> str:
    return f" ({parameter.description})" if parameter.description else ""


def _unknown(definition: CommandDefinition, name: str) -> str:
    known = ", ".join(p.name for p in definition.parameters) or "none"
    return f"{definition.name} has no parameter {name!r} (it has: {known})"
