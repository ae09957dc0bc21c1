"""Misuse gets a message that says what was fed and what to do; `api_error` for any library."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wire
from wire.testing.strategies import chunkings, encode_events, stream_event_sequences

SAMPLE = (resources.files("wire") / "samples" / "tool_use.sse").read_bytes()


def close_reason(chunks: list[bytes]) -> str:
    decoder = wire.MessageStreamDecoder()
    for chunk in chunks:
        assert decoder.feed(chunk) == []
    with pytest.raises(wire.IncompleteStreamError) as caught:
        decoder.close()
    assert caught.value.partial_message is None
    return caught.value.reason


# --- the wrong type -------------------------------------------------------------


@pytest.mark.parametrize("make", [wire.SSEDecoder, wire.MessageStreamDecoder])
def test_feeding_str_names_the_parameter_and_the_fix(make: Any) -> None:
    decoder = make()
    with pytest.raises(wire.InvalidParameterError) as caught:
        decoder.feed("event: ping\ndata: {}\n\n")
    assert caught.value.parameter == "data"
    assert "not str" in str(caught.value)
    assert "iter_bytes()" in str(caught.value)
    assert "encode('utf-8')" in str(caught.value)
    # Misuse changes nothing: the decoder goes on with the right input.
    assert len(decoder.feed(b'event: ping\ndata: {"type": "ping"}\n\n')) == 1


@pytest.mark.parametrize("make", [wire.SSEDecoder, wire.MessageStreamDecoder])
@pytest.mark.parametrize("value", [5, None, [10, 10], 1.5])
def test_feeding_other_types_is_refused_not_coerced(make: Any, value: object) -> None:
    # bytes(5) would have fed five NUL bytes without a word.
    with pytest.raises(wire.InvalidParameterError, match=type(value).__name__):
        make().feed(value)


@given(data=st.binary(max_size=200), kind=st.sampled_from([bytearray, memoryview]))
def test_bytes_like_input_still_decodes_as_bytes(data: bytes, kind: Any) -> None:
    assert wire.SSEDecoder().feed(kind(data)) == wire.SSEDecoder().feed(data)


@pytest.mark.parametrize("value", [b'{"a": 1}', bytearray(b"{"), memoryview(b"{")])
def test_partial_json_refuses_bytes_and_says_decode(value: object) -> None:
    parser = wire.PartialJSONParser()
    with pytest.raises(wire.InvalidParameterError) as caught:
        parser.feed(value)  # type: ignore[arg-type]
    assert caught.value.parameter == "text"
    assert "takes str" in str(caught.value)
    assert "decode('utf-8')" in str(caught.value)
    assert not parser.started  # nothing was taken


def test_partial_json_takes_a_str_subclass() -> None:
    class Fragment(str):
        pass

    parser = wire.PartialJSONParser()
    parser.feed(Fragment('{"a": [1, 2]}'))
    assert parser.result() == {"a": [1, 2]}


# --- legal SSE that is no Messages stream: named at close() -----------------------

ENVELOPES = st.builds(
    lambda kind, message: {"type": "error", "error": {"type": kind, "message": message}},
    st.sampled_from(["overloaded_error", "rate_limit_error", "api_error", "x_error"]),
    st.text(max_size=40),
)


@settings(max_examples=30)
@given(data=st.data(), envelope=ENVELOPES, indent=st.sampled_from([None, 2]))
def test_a_json_body_is_named_whatever_the_chunking(
    data: st.DataObject, envelope: Any, indent: int | None
) -> None:
    body = json.dumps(envelope, indent=indent).encode()
    reason = close_reason(data.draw(chunkings(body)))
    assert "look like a JSON body" in reason
    assert "wire.api_error(" in reason
    assert "cut off" not in reason  # the old, misleading clue is gone


@settings(max_examples=20)
@given(data=st.data())
def test_gzip_bytes_are_named_whatever_the_chunking(data: st.DataObject) -> None:
    reason = close_reason(data.draw(chunkings(gzip.compress(SAMPLE))))
    assert "gzip magic number" in reason
    assert "iter_raw()" in reason


@settings(max_examples=20)
@given(pair=stream_event_sequences(max_blocks=2))
def test_lines_stripped_of_their_line_ends_are_named(pair: Any) -> None:
    events, _ = pair
    stripped = encode_events(events).splitlines()  # what httpx's iter_lines() yields
    reason = close_reason(list(stripped))
    assert "no line end ever arrived" in reason
    assert "iter_lines()" in reason


def test_nothing_fed_says_so() -> None:
    assert close_reason([]) == "stream ended before message_start; no bytes were fed"


@pytest.mark.parametrize(
    "body",
    [b"event: message_start\n", b": keep-alive comment\n\n", b"\r\n\r\n: ping\r\n" * 3],
)
def test_an_ordinary_early_end_keeps_its_plain_reason(body: bytes) -> None:
    reason = close_reason([body])
    assert "JSON" not in reason
    assert "gzip" not in reason
    assert "line end" not in reason


@settings(max_examples=20)
@given(pair=stream_event_sequences(max_blocks=2), data=st.data())
def test_json_lines_before_a_real_stream_stay_legal(pair: Any, data: st.DataObject) -> None:
    # An SSE line starting with "{" is an unknown field, which the spec ignores: no refusal.
    events, message = pair
    body = b'{"ignored": "field line"}\n' + encode_events(events)
    decoder = wire.MessageStreamDecoder()
    for chunk in data.draw(chunkings(body)):
        decoder.feed(chunk)
    decoder.close()
    assert decoder.message is not None
    assert decoder.message.to_dict() == message


# --- api_error -------------------------------------------------------------------------

STATUSES = st.sampled_from([400, 401, 403, 404, 408, 409, 413, 429, 500, 501, 502, 503, 529])
HEADERS = st.dictionaries(
    st.sampled_from(["request-id", "retry-after", "x-should-retry", "content-type", "x-other"]),
    st.sampled_from(["req_1", "3", "true", "false", "text/html", "application/json", ""]),
)
BODIES = st.one_of(
    ENVELOPES.map(lambda envelope: json.dumps(envelope).encode()),
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda text: f"<html><title>{text}</title>{text}".encode()),
)


def via_connection(status: int, headers: dict[str, str], body: bytes) -> wire.APIError:
    connection = wire.ClientConnection("api.test")
    request = wire.builders.count_tokens(
        wire.APIConfig(api_key="k"), model="m", messages=[{"role": "user", "content": "hi"}]
    )
    connection.send_request(request)
    headers = {**headers, "content-length": str(len(body))}
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head = f"HTTP/1.1 {status} X\r\n{lines}\r\n".encode()
    events = connection.receive_data(head + body)
    (error,) = [event.error for event in events if isinstance(event, wire.ErrorResponse)]
    return error


@settings(max_examples=40)
@given(status=STATUSES, headers=HEADERS, body=BODIES)
def test_api_error_agrees_with_client_connection(
    status: int, headers: dict[str, str], body: bytes
) -> None:
    mine = wire.api_error(status, {**headers, "content-length": str(len(body))}, body, reason="X")
    theirs = via_connection(status, headers, body)
    assert type(mine) is type(theirs)
    facts = ("status", "type", "message", "request_id", "retryable", "body", "headers")
    assert [getattr(mine, name) for name in facts] == [getattr(theirs, name) for name in facts]
    assert str(mine) == str(theirs)


@settings(max_examples=40)
@given(status=STATUSES, body=st.binary(max_size=20_000) | st.text(max_size=2_000))
def test_a_non_api_body_becomes_one_short_line(status: int, body: bytes | str) -> None:
    text = str(wire.api_error(status, {"content-type": "text/html"}, body))
    assert "\n" not in text
    assert "\r" not in text
    assert len(text) <= 250


def test_an_html_502_page_is_summarised_by_its_title() -> None:
    page = (
        b"<!DOCTYPE html>\n<html>\n<head>\n<TITLE>502 Bad Gateway</TITLE>\n</head>\n<body>\n"
        + b"<p>secret-internal-hostname.example</p>\n" * 200
        + b"</body></html>"
    )
    error = wire.api_error(502, [(b"Content-Type", b"text/html; charset=utf-8")], page)
    assert isinstance(error, wire.InternalServerError)
    assert error.retryable
    assert error.message == (
        f"502 Bad Gateway (a text/html body of {len(page)} bytes, not an API error envelope)"
    )
    assert "secret-internal" not in str(error)
    assert error.body is None
    assert via_connection(502, {"content-type": "text/html"}, page).message == error.message


def test_api_error_reads_the_envelope_and_the_headers() -> None:
    body = b'{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}'
    error = wire.api_error(429, {"Retry-After": "7", "Request-Id": "req_7"}, body)
    assert isinstance(error, wire.RateLimitError)
    assert (error.type, error.message, error.request_id) == (
        "rate_limit_error",
        "slow down",
        "req_7",
    )
    assert ("retry-after", "7") in error.headers
    assert wire.RetryPolicy().delay(0, error=error) == 7.0
    assert wire.api_error(400, {}, body.replace(b'"error","error', b'"error","request_id":"r2"'))


def test_the_envelope_request_id_is_used_without_the_header() -> None:
    body = b'{"type":"error","error":{"type":"api_error","message":"m"},"request_id":"req_b"}'
    assert wire.api_error(500, {}, body).request_id == "req_b"


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        (("529", {}, b""), "status"),
        ((True, {}, b""), "status"),
        ((99, {}, b""), "status"),
        ((500, {}, 5), "body"),
        ((500, "content-type: x", b""), "headers"),
    ],
)
def test_api_error_refuses_bad_parameters(args: tuple[Any, ...], parameter: str) -> None:
    with pytest.raises(wire.InvalidParameterError) as caught:
        wire.api_error(*args)
    assert caught.value.parameter == parameter
