"""ClientConnection against an h11 server peer: heads, bodies, encodings, errors, keep-alive."""

from __future__ import annotations

import gzip
import json
import zlib
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wire
from tests.link import Link, response_bytes
from wire._connection import BodyData, ClientConnection, JSONBody, ResponseComplete, ResponseHead
from wire.builders import Request
from wire.testing.strategies import chunkings

SAMPLE = (resources.files("wire") / "samples" / "tool_use.sse").read_bytes()
POST = Request(
    "POST",
    "/v1/messages",
    (("x-api-key", "sk-secret-123"), ("content-type", "application/json")),
    b'{"a":1}',
)
GET = Request("GET", "/v1/models", (("x-api-key", "sk-secret-123"),))


def exchange(
    raw: bytes, chunks: list[bytes] | None = None, request: Request = GET, **options: Any
) -> list[Any]:
    """The client's events for `raw` in `chunks`, then end of file (which raises a held error)."""
    link = Link(**options)
    link.send(request)
    return link.deliver(raw, chunks, eof=True)


ENVELOPE = {
    "type": "error",
    "error": {"type": "overloaded_error", "message": "Overloaded"},
    "request_id": "req_body",
}


# --- the request -------------------------------------------------------------------------


def test_request_bytes_carry_host_length_and_encoding() -> None:
    request, body = Link("api.test:8080").send(POST)
    assert request.method == b"POST"
    assert request.target == b"/v1/messages"
    headers = dict(request.headers)
    assert headers[b"host"] == b"api.test:8080"
    assert headers[b"content-length"] == b"7"
    assert headers[b"accept-encoding"] == b"gzip, deflate"
    assert body == b'{"a":1}'


def test_get_has_no_content_length_and_empty_post_has_zero() -> None:
    assert b"content-length" not in ClientConnection("h").send_request(GET).lower()
    cancel = Request("POST", "/v1/messages/batches/b/cancel", (("x-api-key", "k"),))
    assert b"content-length: 0\r\n" in ClientConnection("h").send_request(cancel).lower()


def test_busy_connection_refuses_a_second_request() -> None:
    client = ClientConnection("h")
    client.send_request(GET)
    with pytest.raises(wire.LocalProtocolError):
        client.send_request(GET)


# --- successful responses ---------------------------------------------------------------------


def test_json_response() -> None:
    body = json.dumps({"input_tokens": 12}).encode()
    events = exchange(
        response_bytes(200, [("content-type", "application/json"), ("request-id", "req_1")], body)
    )
    head, parsed, done = events
    assert isinstance(head, ResponseHead)
    assert (head.status, head.request_id, head.media_type) == (200, "req_1", "application/json")
    assert parsed == JSONBody({"input_tokens": 12})
    assert done == ResponseComplete(reusable=True)


def test_sse_response_gives_typed_events_and_the_message() -> None:
    raw = response_bytes(
        200, [("content-type", "text/event-stream; charset=utf-8")], SAMPLE, chunked=True, pieces=7
    )
    events = exchange(raw)
    assert isinstance(events[0], ResponseHead)
    assert isinstance(events[1], wire.MessageStart)
    assert isinstance(events[-2], wire.MessageStop)
    assert events[-1] == ResponseComplete(reusable=True)
    _, expected = _decode(SAMPLE)
    assert events[1:-1] == expected


def _decode(data: bytes) -> tuple[wire.MessageStreamDecoder, list[Any]]:
    decoder = wire.MessageStreamDecoder()
    events = decoder.feed(data)
    decoder.close()
    return decoder, events


def test_other_media_types_stream_as_body_data() -> None:
    body = b'{"custom_id":"a","result":{"type":"canceled"}}\n' * 3
    events = exchange(
        response_bytes(200, [("content-type", "application/binary")], body, chunked=True, pieces=3)
    )
    assert b"".join(e.data for e in events if isinstance(e, BodyData)) == body


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_compressed_bodies(encoding: str) -> None:
    if encoding == "gzip":
        packed = gzip.compress(SAMPLE)
    elif encoding == "deflate":
        packed = zlib.compress(SAMPLE)
    else:
        squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        packed = squeezer.compress(SAMPLE) + squeezer.flush()
    name = "deflate" if encoding == "raw-deflate" else encoding
    raw = response_bytes(
        200,
        [("content-type", "text/event-stream"), ("content-encoding", name)],
        packed,
        chunked=True,
        pieces=5,
    )
    events = exchange(raw, [raw[i : i + 1] for i in range(len(raw))])
    assert events[1:-1] == _decode(SAMPLE)[1]


def test_rate_limit_headers_are_parsed() -> None:
    headers = [
        ("content-type", "application/json"),
        ("anthropic-ratelimit-requests-limit", "1000"),
        ("anthropic-ratelimit-requests-remaining", "999"),
    ]
    head = exchange(response_bytes(200, headers, b"{}"))[0]
    assert head.rate_limits.requests.limit == 1000
    assert head.rate_limits.requests.remaining == 999


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "cls", "retryable"),
    [
        (400, "invalid_request_error", wire.BadRequestError, False),
        (401, "authentication_error", wire.AuthenticationError, False),
        (403, "permission_error", wire.PermissionDeniedError, False),
        (404, "not_found_error", wire.NotFoundError, False),
        (413, "request_too_large", wire.RequestTooLargeError, False),
        (429, "rate_limit_error", wire.RateLimitError, True),
        (500, "api_error", wire.InternalServerError, True),
        (529, "overloaded_error", wire.OverloadedError, True),
        (418, "teapot_error", wire.APIError, False),
    ],
)
def test_error_statuses_become_typed_errors(
    status: int, error_type: str, cls: type, retryable: bool
) -> None:
    envelope = {
        "type": "error",
        "error": {"type": error_type, "message": "nope"},
        "request_id": "req_body",
    }
    raw = response_bytes(
        status,
        [("content-type", "application/json"), ("request-id", "req_head")],
        json.dumps(envelope).encode(),
    )
    head, response, done = exchange(raw)
    assert head.status == status
    assert isinstance(response, wire.ErrorResponse)
    error = response.error
    assert type(error) is cls
    assert (error.status, error.type, error.message) == (status, error_type, "nope")
    assert error.request_id == "req_head"
    assert error.retryable is retryable
    assert error.body == envelope
    assert done.reusable


def test_error_without_json_keeps_the_text() -> None:
    raw = response_bytes(502, [("content-type", "text/html")], b"<html>Bad gateway</html>")
    error = exchange(raw)[1].error
    assert isinstance(error, wire.InternalServerError)
    assert error.message == "Bad gateway (a text/html body of 24 bytes, not an API error envelope)"
    assert error.type is None


def test_empty_error_body() -> None:
    error = exchange(response_bytes(503, []))[1].error
    assert isinstance(error, wire.ServiceUnavailableError)
    assert "503" in error.message


def test_should_retry_header_overrides() -> None:
    raw = response_bytes(400, [("x-should-retry", "true")], b"{}")
    assert exchange(raw)[1].error.retryable is True
    raw = response_bytes(529, [("x-should-retry", "false")], json.dumps(ENVELOPE).encode())
    assert exchange(raw)[1].error.retryable is False


def test_stream_error_event_arrives_as_an_event() -> None:
    body = wire.encode_sse(
        json.dumps(
            {
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
        ),
        event="message_start",
    ) + wire.encode_sse(json.dumps(ENVELOPE), event="error")
    raw = response_bytes(200, [("content-type", "text/event-stream")], body, chunked=True)
    events = exchange(raw, request=POST)
    assert [type(e) for e in events] == [
        ResponseHead,
        wire.MessageStart,
        wire.StreamError,
        wire.StreamIncomplete,
        ResponseComplete,
    ]
    assert isinstance(events[2].to_exception(), wire.OverloadedError)
    assert isinstance(events[3].error, wire.IncompleteStreamError)
    assert events[3].partial_message is events[3].error.partial_message is not None
    assert events[4].reusable


def test_connection_closed_mid_stream_keeps_the_partial_message() -> None:
    raw = response_bytes(200, [("content-type", "text/event-stream")], SAMPLE)
    client = ClientConnection("h")
    client.send_request(POST)
    client.receive_data(raw[: len(raw) // 2])
    (event,) = client.receive_data(b"")  # a value event, not an exception
    assert isinstance(event, wire.StreamIncomplete)
    assert isinstance(event.error, wire.IncompleteStreamError)
    assert event.partial_message is not None
    assert event.partial_message.id == "msg_01HCDu5LRGeP2o7s2xGmxyx8"
    assert not client.reusable


def test_connection_closed_mid_json_carries_the_bytes() -> None:
    raw = response_bytes(200, [("content-type", "application/json")], b'{"input_tokens": 5}')
    client = ClientConnection("h")
    client.send_request(GET)
    client.receive_data(raw[:-4])
    with pytest.raises(wire.IncompleteBodyError) as info:
        client.receive_data(b"")
    assert info.value.body == b'{"input_tokens"'


def test_compression_bomb_is_refused_with_bounded_memory() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    raw = response_bytes(
        200, [("content-type", "application/json"), ("content-encoding", "gzip")], bomb
    )
    with pytest.raises(wire.BodyTooLargeError) as info:
        exchange(raw, max_body_bytes=1024 * 1024)
    assert info.value.limit == "max_body_bytes"
    assert info.value.size <= 1024 * 1024 + 256 * 1024


def test_bad_http_is_a_remote_protocol_error() -> None:
    with pytest.raises(wire.RemoteProtocolError):
        exchange(b"HTTP/1.1 two hundred OK\r\n\r\n")


def test_oversized_head_is_refused() -> None:
    raw = b"HTTP/1.1 200 OK\r\nx-junk: " + b"a" * 100_000 + b"\r\n\r\n"
    with pytest.raises(wire.RemoteProtocolError):
        exchange(raw, [raw[i : i + 4096] for i in range(0, len(raw), 4096)])


def test_invalid_json_body_is_a_remote_protocol_error() -> None:
    with pytest.raises(wire.RemoteProtocolError):
        exchange(response_bytes(200, [("content-type", "application/json")], b"{nope"))


# --- keep-alive -----------------------------------------------------------------------------


def test_keep_alive_reuses_the_connection() -> None:
    link = Link()
    for n in range(3):
        body = json.dumps({"n": n}).encode()
        events = link.exchange(GET, 200, [("content-type", "application/json")], body)
        assert events[1] == JSONBody({"n": n})
        assert events[-1] == ResponseComplete(reusable=True)
        assert link.client.reusable


def test_connection_close_is_not_reusable() -> None:
    raw = response_bytes(
        200, [("content-type", "application/json"), ("connection", "close")], b"{}"
    )
    client = ClientConnection("h")
    client.send_request(GET)
    events = client.receive_data(raw)
    assert events[-1] == ResponseComplete(reusable=False)
    assert not client.reusable
    with pytest.raises(wire.LocalProtocolError):
        client.send_request(GET)


# --- any chunking ---------------------------------------------------------------------------

_RESPONSES = [
    response_bytes(200, [("content-type", "text/event-stream")], SAMPLE, chunked=True, pieces=9),
    response_bytes(
        200,
        [("content-type", "text/event-stream"), ("content-encoding", "gzip")],
        gzip.compress(SAMPLE),
        chunked=True,
        pieces=4,
    ),
    response_bytes(
        200,
        [("content-type", "application/json"), ("content-encoding", "gzip")],
        gzip.compress(json.dumps({"a": [1, "é"]}).encode()),
    ),
    response_bytes(
        529,
        [("content-type", "application/json"), ("retry-after", "3")],
        json.dumps(ENVELOPE).encode(),
        chunked=True,
        pieces=3,
    ),
    response_bytes(
        200, [("content-type", "application/x-jsonl")], b"line 1\nline 2\n", chunked=True, pieces=2
    ),
]


def _normalise(events: list[Any]) -> list[Any]:
    """Join BodyData chunks (their boundaries follow the input's) and compare errors by value."""
    out: list[Any] = []
    for event in events:
        if isinstance(event, BodyData) and out and isinstance(out[-1], BodyData):
            out[-1] = BodyData(out[-1].data + event.data)
        elif isinstance(event, wire.ErrorResponse):
            e = event.error
            out.append((type(e), e.status, e.type, e.message, e.retryable))
        else:
            out.append(event)
    return out


@given(st.sampled_from(_RESPONSES), st.data())
def test_any_chunking_gives_the_same_events(raw: bytes, data: st.DataObject) -> None:
    whole = _normalise(exchange(raw))
    assert _normalise(exchange(raw, data.draw(chunkings(raw, max_chunks=400)))) == whole


def test_a_response_before_any_request_is_a_remote_error() -> None:
    client = ClientConnection("h")
    with pytest.raises(wire.RemoteProtocolError):
        client.receive_data(response_bytes(200, [], b""))
    assert not client.reusable


def test_a_failed_connection_refuses_further_use() -> None:
    client = ClientConnection("h")
    client.send_request(GET)
    events = client.receive_data(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n")
    assert [type(e) for e in events] == [ResponseHead]  # the head, then the error
    assert not client.reusable
    with pytest.raises(wire.RemoteProtocolError):
        client.receive_data(b"more")
    with pytest.raises(wire.LocalProtocolError):
        client.receive_data(b"more")
    with pytest.raises(wire.LocalProtocolError):
        client.send_request(GET)


def test_events_before_a_bad_event_are_delivered_then_the_error() -> None:
    start = {
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
    body = wire.encode_sse(json.dumps(start), event="message_start") + b"data: {oops\n\n"
    client = ClientConnection("h")
    client.send_request(POST)
    events = client.receive_data(
        response_bytes(200, [("content-type", "text/event-stream")], body, chunked=True)
    )
    assert [type(e) for e in events] == [ResponseHead, wire.MessageStart]
    with pytest.raises(wire.EventDecodeError):
        client.receive_data(b"")
    assert not client.reusable
    with pytest.raises(wire.LocalProtocolError):
        client.receive_data(b"")


# --- the connection's state -----------------------------------------------------------------

S = wire.ConnectionState


def test_state_follows_one_exchange() -> None:
    client = ClientConnection("h")
    assert client.state is S.IDLE
    assert client.reusable
    client.send_request(GET)
    assert client.state is S.AWAITING_RESPONSE  # type: ignore[comparison-overlap]
    assert not client.reusable
    assert client.receive_data(b"HTTP/1.1 100 Continue\r\n\r\n") == []
    assert client.state is S.AWAITING_RESPONSE
    raw = response_bytes(200, [("content-type", "application/json")], b'{"a": 1}')
    client.receive_data(raw[:-3])
    assert client.state is S.RECEIVING_BODY
    assert client.receive_data(raw[-3:])[-1] == ResponseComplete(reusable=True)
    assert client.state is S.IDLE
    assert client.reusable
    client.receive_data(b"")  # the peer closes an idle connection: no error
    assert client.state is S.CLOSED
    assert not client.reusable
    with pytest.raises(wire.LocalProtocolError, match="closed"):
        client.send_request(GET)


def test_state_closed_after_connection_close_and_after_a_cut_stream() -> None:
    raw = response_bytes(
        200, [("content-type", "application/json"), ("connection", "close")], b"{}"
    )
    client = ClientConnection("h")
    client.send_request(GET)
    client.receive_data(raw)
    assert client.state is S.CLOSED
    raw = response_bytes(200, [("content-type", "text/event-stream")], SAMPLE)
    client = ClientConnection("h")
    client.send_request(POST)
    client.receive_data(raw[:-10])
    assert isinstance(client.receive_data(b"")[-1], wire.StreamIncomplete)
    assert client.state is S.CLOSED
    assert client.pending_error is None


def test_state_failed_while_an_error_is_pending_and_after() -> None:
    client = ClientConnection("h")
    client.send_request(GET)
    client.receive_data(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n")
    assert client.state is S.FAILED
    assert client.pending_error is not None
    with pytest.raises(wire.RemoteProtocolError):
        client.receive_data(b"")
    assert client.state is S.FAILED
    assert client.pending_error is None
