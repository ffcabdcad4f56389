"""Calling the model from sandboxed code, through the host's model bridge. stdlib only.

    import airlock_llm
    summary = airlock_llm.llm_query("Summarise this: " + chunk)
    labels = airlock_llm.llm_query_batched([f"Label: {r}" for r in records])  # concurrent, in order
    child = airlock_llm.rlm_query("...")  # a child recursive run (a plain call at the depth limit)

The sandbox has no network: each call is one connection to the bridge's Unix socket (the host's
``airlock.rlm.bridge``), named in ``AIRLOCK_LLM_SOCKET`` with its token in ``AIRLOCK_LLM_TOKEN``,
both read at each call, unless ``configure`` set them. Nothing here raises: no bridge, a refused
request, a failed model call, an argument of the wrong type all come back as the answer, a string
that starts with ``"Error: "``.
"""

from __future__ import annotations

import json
import os
import socket
import struct

__all__ = ["MAX_FRAME_BYTES", "configure", "llm_query", "llm_query_batched", "rlm_query"]

#: The largest frame either way (the bridge's own limit).
MAX_FRAME_BYTES = 16 << 20
_HEADER = struct.Struct(">I")
#: Set by ``configure``; empty: the environment decides.
_configured: dict[str, str] = {}


class _BridgeError(Exception):
    """A call that got no answer; its message becomes the error string."""


def configure(socket_path: str | None = None, token: str | None = None) -> None:
    """Use this socket and token rather than the environment's (None: the environment's again)."""
    for key, value in (("socket", socket_path), ("token", token)):
        if value is None:
            _configured.pop(key, None)
        else:
            _configured[key] = str(value)


def llm_query(prompt: str, model: str | None = None) -> str:
    """The model's answer to ``prompt`` (``model``: another than the run's default)."""
    return _single("llm_query", prompt, model)


def rlm_query(prompt: str, model: str | None = None) -> str:
    """The answer of a child recursive run on ``prompt``, with what is left of the run's budget."""
    return _single("rlm_query", prompt, model)


def llm_query_batched(prompts: list[str], model: str | None = None) -> list[str]:
    """The answers to ``prompts``, asked concurrently, in the same order."""
    problem = _wrong_type("model", model, (str, type(None)))
    if not _is_sequence(prompts):
        return [_error("TypeError", f"prompts must be a list of str, not {type(prompts).__name__}")]
    answers: list[str | None] = [_error("TypeError", problem) if problem else _wrong_item(prompt) for prompt in prompts]
    todo = [i for i, answer in enumerate(answers) if answer is None]
    if todo:
        got = _ask({"op": "llm_query_batched", "prompts": [prompts[i] for i in todo], "model": model}, len(todo))
        for i, answer in zip(todo, got, strict=True):
            answers[i] = answer
    return [answer or "" for answer in answers]


def _single(op: str, prompt: str, model: str | None) -> str:
    problem = _wrong_type("prompt", prompt, (str,)) or _wrong_type("model", model, (str, type(None)))
    if problem:
        return _error("TypeError", problem)
    return _ask({"op": op, "prompt": prompt, "model": model}, None)[0]


def _ask(request: dict[str, object], count: int | None) -> list[str]:
    """The answers to ``request``: one (``count`` None) or ``count``, each an error string if need be."""
    try:
        result = _round_trip(request)
        if count is None and isinstance(result, str):
            return [result]
        if isinstance(result, list) and len(result) == count and all(isinstance(r, str) for r in result):
            return result
        raise _BridgeError("the bridge's reply does not fit the request")
    except _BridgeError as exc:
        message = _error("ModelBridgeError", str(exc))
    except (OSError, ValueError) as exc:  # no socket, a connection cut, a reply that is not JSON
        message = _error(type(exc).__name__, str(exc))
    return [message] * (1 if count is None else count)


def _round_trip(request: dict[str, object]) -> object:
    path = _configured.get("socket") or os.environ.get("AIRLOCK_LLM_SOCKET")
    token = _configured.get("token") or os.environ.get("AIRLOCK_LLM_TOKEN")
    if not path or not token:
        raise _BridgeError("there is no model bridge here (AIRLOCK_LLM_SOCKET and AIRLOCK_LLM_TOKEN are not set)")
    data = json.dumps({"token": token, **request}).encode()
    if len(data) > MAX_FRAME_BYTES:
        raise _BridgeError(f"the request is {len(data)} bytes; the limit is {MAX_FRAME_BYTES}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(_HEADER.pack(len(data)) + data)
        (length,) = _HEADER.unpack(_read(sock, _HEADER.size))
        if length > MAX_FRAME_BYTES:
            raise _BridgeError(f"the reply is {length} bytes; the limit is {MAX_FRAME_BYTES}")
        reply = json.loads(_read(sock, length).decode())
    if not isinstance(reply, dict):
        raise _BridgeError("the bridge's reply is not a JSON object")
    if reply.get("ok") is not True:
        raise _BridgeError(str(reply.get("error", "the bridge refused the request")))
    return reply.get("result")


def _read(sock: socket.socket, size: int) -> bytes:
    parts, left = [], size
    while left:
        part = sock.recv(min(left, 1 << 20))
        if not part:
            raise ConnectionError("the model bridge closed the connection")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _wrong_type(name: str, value: object, allowed: tuple[type, ...]) -> str:
    """Why ``value`` cannot be ``name`` ('' if it can)."""
    if isinstance(value, allowed):
        return ""
    names = " or ".join("None" if kind is type(None) else kind.__name__ for kind in allowed)
    return f"{name} must be {names}, not {type(value).__name__}"


def _is_sequence(value: object) -> bool:
    return isinstance(value, (list, tuple))


def _wrong_item(prompt: object) -> str | None:
    problem = _wrong_type("each prompt", prompt, (str,))
    return _error("TypeError", problem) if problem else None


def _error(kind: str, message: str) -> str:
    return f"Error: {kind}: {message}"
