"""The wire protocol between the host and the agent inside a sandbox.

Stdlib only: this file is loaded both by the host (as ``airlock.agent.protocol``) and by the agent
inside the sandbox (as ``protocol``).

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON holding one object.

Host -> agent, a request::

    {"id": 7, "op": "exec", ...params}

Agent -> host, zero or more events and then exactly one reply with the same id::

    {"id": 7, "ev": "stdout", "b64": "..."}
    {"id": 7, "ok": true, "result": {...}}
    {"id": 7, "ok": false, "error": {"type": "FileNotFound", "message": "..."}}

The agent announces itself first with ``{"id": 0, "ev": "hello", "v": VERSION, ...}``. Several requests
may be in flight at once; replies come in any order.
"""

from __future__ import annotations

import binascii
import struct

TYPE_CHECKING = False  # typing itself is not imported: the agent starts faster without it
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "HEADER",
    "MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "FrameDecoder",
    "FrameTooLarge",
    "RequestError",
    "decode_bytes",
    "dumps",
    "encode_bytes",
    "encode_frame",
    "loads",
]

PROTOCOL_VERSION = 1
HEADER = struct.Struct(">I")
#: Largest frame either side accepts. File payloads are base64, so this bounds a file op at ~48 MiB.
MAX_FRAME_BYTES = 64 * 1024 * 1024


class _DecoderSettings:
    """What ``_json``'s scanner reads off a ``json.JSONDecoder``: strict, no hooks, no NaN."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        raise ValueError(f"{name} is not valid JSON")


def _unserializable(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


try:  # the C half of the json module; json itself imports re, enum and more (~7 ms of agent start)
    import _json

    _encode = _json.make_encoder(None, _unserializable, _json.encode_basestring, None, ":", ",", False, False, False)
    _scan = _json.make_scanner(_DecoderSettings())  # type: ignore[arg-type]  # duck-typed JSONDecoder

    def dumps(value: Any) -> str:
        return "".join(_encode(value, 0))

    def loads(text: str) -> Any:
        try:
            value, end = _scan(text, 0)
        except StopIteration as exc:
            raise ValueError(f"invalid JSON at character {exc.value}") from None
        except SystemError as exc:  # the C scanner's error path wants json.decoder, not imported here
            raise ValueError("invalid JSON") from exc
        if text[end:].strip():
            raise ValueError(f"extra data after JSON at character {end}")
        return value

except ImportError:  # pragma: no cover - not CPython
    import json

    def dumps(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    def loads(text: str) -> Any:
        return json.loads(text)


def encode_bytes(data: bytes) -> str:
    """Bytes as base64 text (binascii: the base64 module would pull in ``re`` at agent start)."""
    return binascii.b2a_base64(data, newline=False).decode()


def decode_bytes(text: str) -> bytes:
    return binascii.a2b_base64(text)


class RequestError(Exception):
    """A request the agent cannot carry out; ``kind`` names why (``FileNotFound``, ``BadRequest``...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class FrameTooLarge(ValueError):
    """A peer announced a frame larger than ``MAX_FRAME_BYTES``."""


def encode_frame(message: dict[str, Any]) -> bytes:
    body = dumps(message).encode()
    if len(body) > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"frame of {len(body)} bytes exceeds {MAX_FRAME_BYTES}")
    return HEADER.pack(len(body)) + body


class FrameDecoder:
    """Incremental decoder: feed bytes, get whole messages back."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += data
        messages = []
        while len(self._buffer) >= HEADER.size:
            (length,) = HEADER.unpack_from(self._buffer)
            if length > MAX_FRAME_BYTES:
                raise FrameTooLarge(f"peer announced a frame of {length} bytes")
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            message = loads(bytes(self._buffer[HEADER.size : end]).decode())
            del self._buffer[:end]
            if not isinstance(message, dict):
                raise ValueError("a frame must hold a JSON object")
            messages.append(message)
        return messages
