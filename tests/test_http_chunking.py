"""`ClientConnection` hardening (issue 12: items 3, 5A, 8, 9) and its chunking property.

The same response bytes, in any chunking and then end of file, give the same
events and the same first error: status line, headers, chunked framing,
content-length, gzip, cut-offs and corrupted bytes alike.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wire
from tests.helpers import splits
from tests.link import response_bytes
from wire._connection import BodyData, ClientConnection
from wire.builders import Request
from wire.testing.strategies import chunkings

SAMPLE = (resources.files("wire") / "samples" / "tool_use.sse").read_bytes()
GET = Request("GET", "/v1/x", (("x-api-key", "sk-secret-123"),))
SSE = [("content-type", "text/event-stream")]
JSON = [("content-type", "application/json")]


def outcome(
    chunks: Iterable[bytes], **options: Any
) -> tuple[list[Any], type[BaseException] | None]:
    """The events (BodyData joined) and the type of the first error, feeding then end of file."""
    client = ClientConnection("h", **options)
    client.send_request(GET)
    events: list[Any] = []
    try:
        for chunk in [*chunks, b""]:
            events.extend(client.receive_data(chunk))
    except wire.WireError as exc:
        error: type[BaseException] | None = type(exc)
    else:
        error = None
    joined: list[Any] = []
    for event in events:
        if isinstance(event, BodyData) and joined and isinstance(joined[-1], BodyData):
            joined[-1] = BodyData(joined[-1].data + event.data)
        elif isinstance(event, wire.ErrorResponse):
            e = event.error
            joined.append((type(e), e.status, e.type, e.message))
        elif isinstance(event, wire.StreamIncomplete):
            joined.append((wire.StreamIncomplete, event.partial_message))
        else:
            joined.append(event)
    return joined, error


def same_in_every_chunking(raw: bytes, **options: Any) -> tuple[list[Any], Any]:
    expected = outcome([raw], **options)
    for chunks in splits(raw) if len(raw) < 400 else [[raw[i : i + 1] for i in range(len(raw))]]:
        assert outcome(chunks, **options) == expected, chunks
    return expected


# --- item 3: bytes after a complete response ------------------------------------------------


def test_bytes_after_a_complete_response_are_an_error_in_every_chunking() -> None:
    first = response_bytes(200, JSON, b'{"n": 1}')
    second = response_bytes(200, JSON, b'{"n": 2}')
    events, error = same_in_every_chunking(first + second)
    assert events[1] == wire.JSONBody({"n": 1})
    assert events[-1] == wire.ResponseComplete(reusable=True)
    assert error is wire.RemoteProtocolError


def test_a_desynchronised_response_never_answers_the_next_request() -> None:
    client = ClientConnection("h")
    client.send_request(GET)
    raw = response_bytes(200, JSON, b'{"n": 1}') + response_bytes(200, JSON, b'{"n": 2}')
    client.receive_data(raw)
    assert client.state is wire.ConnectionState.FAILED
    assert isinstance(client.pending_error, wire.RemoteProtocolError)
    with pytest.raises(wire.LocalProtocolError):
        client.send_request(GET)


# --- item 5A: a deferred error survives a cut-off --------------------------------------------


def test_an_error_found_before_a_cut_off_is_the_first_error_in_every_chunking() -> None:
    body = b'data: {"type":"ping"}\n\ndata: {bad\n\n'
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 999\r\n\r\n"
    raw = head + body  # the body is cut off, then EOF
    events, error = same_in_every_chunking(raw)
    assert [type(e) for e in events] == [wire.ResponseHead, wire.Ping]
    assert error is wire.EventDecodeError


# --- item 8: max_header_bytes on complete heads ----------------------------------------------


def test_a_huge_head_in_one_call_is_refused() -> None:
    raw = b"HTTP/1.1 200 OK\r\nx-junk: " + b"a" * (16 * 1024 * 1024) + b"\r\n\r\n"
    client = ClientConnection("h")
    client.send_request(GET)
    with pytest.raises(wire.SizeLimitError) as info:
        client.receive_data(raw)
    assert info.value.limit == "max_header_bytes"


@pytest.mark.parametrize("over", [0, 1])
def test_the_head_limit_is_exact_in_every_chunking(over: int) -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-pad: "
    limit = 120
    raw_head = head + b"p" * (limit - len(head) - 4 + over) + b"\r\n\r\n"
    assert len(raw_head) == limit + over
    events, error = same_in_every_chunking(raw_head + b"{}", max_header_bytes=limit)
    assert error is (wire.SizeLimitError if over else None)
    assert len(events) == (0 if over else 3)  # head, body, complete


def test_every_interim_head_counts_against_the_limit() -> None:
    interim = b"HTTP/1.1 100 Continue\r\nx-pad: " + b"p" * 200 + b"\r\n\r\n"
    final = response_bytes(200, JSON, b"{}")
    events, error = same_in_every_chunking(interim + final, max_header_bytes=150)
    assert (events, error) == ([], wire.SizeLimitError)
    events, error = same_in_every_chunking(interim * 3 + final, max_header_bytes=300)
    assert error is None
    assert events[1] == wire.JSONBody({})


# --- item 9: typed local errors -----------------------------------------------------------


@pytest.mark.parametrize("host", ["hö", b"h", "", "a b", None])
def test_a_bad_host_is_a_parameter_error_naming_it(host: Any) -> None:
    with pytest.raises(wire.InvalidParameterError, match=r"^host: "):
        ClientConnection(host)


@pytest.mark.parametrize(
    ("request_", "parameter"),
    [
        (Request("GET", "/x", (("x-note", "hö sk-secret"),)), "header x-note"),
        (Request("GET", "/x", (("x-nöte", "v"),)), "a header name"),
        (Request("GET", "/xö", ()), "target"),
        (Request("GËT", "/x", ()), "method"),
        (Request("GET", "/x", (("x-n", 5),)), "header x-n"),  # type: ignore[arg-type]
        (Request("POST", "/x", (), "text"), "body"),  # type: ignore[arg-type]
    ],
)
def test_a_request_http_cannot_carry_is_a_parameter_error(
    request_: Request, parameter: str
) -> None:
    client = ClientConnection("h")
    with pytest.raises(wire.InvalidParameterError) as info:
        client.send_request(request_)
    assert str(info.value).startswith(parameter + ": ")
    assert "secret" not in str(info.value)
    assert client.state is wire.ConnectionState.IDLE  # nothing was sent: still usable


# --- the chunking property --------------------------------------------------------------------

BODIES = {
    "stream": (SSE, SAMPLE),
    "json": (JSON, json.dumps({"a": [1, "é"]}).encode()),
    "error": (JSON, b'{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}'),
    "jsonl": ([("content-type", "application/x-jsonl")], b"line 1\nline 2\n"),
    "bad stream": (SSE, b'data: {"type":"ping"}\n\ndata: {bad\n\n' + SAMPLE),
}


@st.composite
def responses(draw: st.DrawFn) -> bytes:
    """A response (status line, headers, framing, encoding), perhaps cut short or corrupted."""
    kind = draw(st.sampled_from(sorted(BODIES)))
    headers, body = BODIES[kind]
    status = 429 if kind == "error" else draw(st.sampled_from([200, 201]))
    headers = [
        *headers,
        *draw(st.lists(st.tuples(st.just("x-extra"), st.text("ab;=", max_size=8)), max_size=2)),
    ]
    packed = draw(st.booleans())
    if packed:
        headers = [*headers, ("content-encoding", "gzip")]
        body = gzip.compress(body)
    raw = draw(st.sampled_from([b"HTTP/1.1 100 Continue\r\n\r\n", b""])) + response_bytes(
        status, headers, body, chunked=draw(st.booleans()), pieces=draw(st.integers(1, 5))
    )
    damage = draw(st.sampled_from(["none", "cut", "flip"]))
    at = draw(st.integers(0, len(raw) - 1))
    if damage == "cut":
        raw = raw[:at]
    elif damage == "flip":  # anywhere: status line, headers, framing, gzip data
        raw = raw[:at] + bytes([raw[at] ^ draw(st.sampled_from([1, 0x20, 0x80]))]) + raw[at + 1 :]
    return raw


@settings(max_examples=150, deadline=None)
@given(responses(), st.data())
def test_any_chunking_gives_the_same_events_and_first_error(
    raw: bytes, data: st.DataObject
) -> None:
    expected = outcome([raw])
    assert outcome(data.draw(chunkings(raw, max_chunks=200))) == expected
