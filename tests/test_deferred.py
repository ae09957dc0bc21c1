""" "Events first, the error on the next call": one contract, the same for every decoder.

`SSEDecoder`, `MessageStreamDecoder`, `JSONLDecoder` and `ClientConnection`
share `wire._deferred.ErrorGate`; this test holds each to the same promise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import wire
from wire._batches import JSONLDecodeError, JSONLDecoder

START = {
    "type": "message_start",
    "message": {
        "id": "m",
        "type": "message",
        "role": "assistant",
        "model": "x",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    },
}
START_SSE = wire.encode_sse(json.dumps(START), event="message_start")
RESULT = b'{"custom_id":"a","result":{"type":"canceled"}}\n'


@dataclass
class Case:
    """A decoder, how to give it bytes and end it, and bytes that hold good events then an error."""

    make: Callable[[], Any]
    feed: Callable[[Any, bytes], list[Any]]
    close: Callable[[Any], object]
    data: bytes
    events: int  # good events the bytes complete before the error
    error: type[wire.WireError]


def _connection() -> wire.ClientConnection:
    client = wire.ClientConnection("h")
    client.send_request(wire.Request("GET", "/v1/x", ()))
    return client


def _http(body: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    return head + b"content-length: %d\r\n\r\n" % len(body) + body


CASES = {
    "SSEDecoder": Case(
        lambda: wire.SSEDecoder(max_line_bytes=20),
        lambda d, b: d.feed(b),
        lambda d: d.close(),
        b"data: a\n\ndata: b\n\n" + b"x" * 40 + b"\n",
        2,
        wire.LineTooLongError,
    ),
    "MessageStreamDecoder": Case(
        wire.MessageStreamDecoder,
        lambda d, b: d.feed(b),
        lambda d: d.close(),
        START_SSE + b"data: {oops\n\n",
        1,
        wire.EventDecodeError,
    ),
    "MessageStreamDecoder, breach held by its SSEDecoder": Case(
        lambda: wire.MessageStreamDecoder(max_line_bytes=len(START_SSE)),
        lambda d, b: d.feed(b),
        lambda d: d.close(),
        START_SSE + b"data: " + b"x" * len(START_SSE) + b"\n",
        1,
        wire.LineTooLongError,
    ),
    "JSONLDecoder": Case(
        JSONLDecoder,
        lambda d, b: d.feed(b),
        lambda d: d.close(),
        RESULT + RESULT + b"{bad\n",
        2,
        JSONLDecodeError,
    ),
    "ClientConnection, bad event": Case(
        _connection,
        lambda d, b: d.receive_data(b),
        lambda d: d.receive_data(b""),
        _http(START_SSE + b"data: {oops\n\n" + b"more"),
        2,  # the head and message_start
        wire.EventDecodeError,
    ),
    "ClientConnection, bad HTTP": Case(
        _connection,
        lambda d, b: d.receive_data(b),
        lambda d: d.receive_data(b""),
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        1,
        wire.RemoteProtocolError,
    ),
}


@pytest.mark.parametrize("then", ["feed", "close"])
@pytest.mark.parametrize("name", list(CASES))
def test_events_first_then_exactly_the_pending_error(name: str, then: str) -> None:
    case = CASES[name]
    decoder = case.make()
    assert decoder.pending_error is None
    events = case.feed(decoder, case.data)
    assert len(events) == case.events  # nothing decoded before the error is lost
    error: object = decoder.pending_error  # (mypy keeps the None narrowed above)
    assert type(error) is case.error  # known without another call
    with pytest.raises(case.error) as info:
        case.feed(decoder, b"x") if then == "feed" else case.close(decoder)
    assert info.value is error
    assert decoder.pending_error is None
    for _ in range(2):  # and from then on, the caller is misusing a failed decoder
        with pytest.raises(wire.LocalProtocolError):
            case.feed(decoder, b"x")


@pytest.mark.parametrize("name", list(CASES))
def test_an_error_with_nothing_before_it_is_raised_at_once(name: str) -> None:
    case = CASES[name]
    decoder = case.make()
    for byte in range(len(case.data)):  # one byte at a time, up to the byte that errs
        try:
            case.feed(decoder, case.data[byte : byte + 1])
        except case.error:
            break
        assert decoder.pending_error is None  # a single byte completes at most one thing
    else:
        raise AssertionError("no error")
    assert decoder.pending_error is None
    with pytest.raises(wire.LocalProtocolError):
        case.feed(decoder, b"x")
