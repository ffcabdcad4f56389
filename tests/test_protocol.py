"""The host <-> agent wire format: length-prefixed JSON objects."""

from __future__ import annotations

import pytest

from airlock.agent.protocol import (
    HEADER,
    MAX_FRAME_BYTES,
    FrameDecoder,
    FrameTooLarge,
    decode_bytes,
    encode_bytes,
    encode_frame,
)

MESSAGES = [
    {"id": 1, "op": "exec", "code": "print('hi')", "env": {"K": "V"}, "timeout_ms": None},
    {"id": 1, "ev": "stdout", "b64": encode_bytes(b"hi\n")},
    {"id": 1, "ok": True, "result": {"exit_code": 0, "nested": [1, 2.5, "three", False]}},
    {"id": 2, "ok": False, "error": {"type": "FileNotFound", "message": 'naïve ✓ 🚀 \u0000 "quoted"'}},
]


@pytest.mark.parametrize("message", MESSAGES, ids=["request", "event", "reply", "error"])
def test_round_trip(message: dict[str, object]) -> None:
    frame = encode_frame(message)

    assert HEADER.unpack_from(frame) == (len(frame) - HEADER.size,)
    assert FrameDecoder().feed(frame) == [message]


def test_frame_split_across_many_feeds() -> None:
    frame = encode_frame(MESSAGES[3])
    decoder = FrameDecoder()

    received = [decoder.feed(frame[i : i + 1]) for i in range(len(frame))]

    assert received[:-1] == [[]] * (len(frame) - 1)  # nothing until the last byte
    assert received[-1] == [MESSAGES[3]]


def test_several_frames_in_one_feed() -> None:
    stream = b"".join(encode_frame(message) for message in MESSAGES)
    decoder = FrameDecoder()

    assert decoder.feed(stream) == MESSAGES
    assert decoder.feed(b"") == []


def test_frames_straddling_feeds() -> None:
    stream = b"".join(encode_frame(message) for message in MESSAGES)
    decoder = FrameDecoder()
    cut = len(encode_frame(MESSAGES[0])) + 3  # inside the second frame's header

    assert decoder.feed(stream[:cut]) == MESSAGES[:1]
    assert decoder.feed(stream[cut:]) == MESSAGES[1:]


def test_frame_announcing_more_than_the_maximum() -> None:
    decoder = FrameDecoder()

    with pytest.raises(FrameTooLarge):
        decoder.feed(HEADER.pack(MAX_FRAME_BYTES + 1))  # refused on the header, before any body arrives


def test_frame_of_exactly_the_maximum_is_awaited() -> None:
    assert FrameDecoder().feed(HEADER.pack(MAX_FRAME_BYTES) + b"{") == []


def test_frame_too_large_is_a_value_error() -> None:
    assert issubclass(FrameTooLarge, ValueError)


@pytest.mark.parametrize("body", [b"[1, 2, 3]", b'"text"', b"42", b"null"], ids=["list", "string", "number", "null"])
def test_frame_holding_something_else_than_an_object(body: bytes) -> None:
    with pytest.raises(ValueError, match="object"):
        FrameDecoder().feed(HEADER.pack(len(body)) + body)


@pytest.mark.parametrize(
    "body", [b"{not json}", b'{"a": 1} trailing', b"\xff\xfe"], ids=["garbage", "trailing", "not-utf8"]
)
def test_frame_holding_invalid_json(body: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the wording is the JSON parser's
        FrameDecoder().feed(HEADER.pack(len(body)) + body)


def test_encode_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode_frame({"data": b"bytes"})


def test_bytes_round_trip_every_byte_value() -> None:
    data = bytes(range(256)) * 3

    text = encode_bytes(data)

    assert text.isascii()
    assert "\n" not in text
    assert decode_bytes(text) == data


def test_empty_bytes_round_trip() -> None:
    assert decode_bytes(encode_bytes(b"")) == b""
