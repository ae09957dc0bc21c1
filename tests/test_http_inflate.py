"""ClientConnection with compressed bodies: issue 12 items 2 (bounded), 4 (every member), 5B
(the same events and error in every chunking)."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wire
from wire._connection import BodyData, ClientConnection, JSONBody, ResponseComplete, ResponseHead
from wire.builders import Request
from wire.testing.strategies import chunkings

SAMPLE = (resources.files("wire") / "samples" / "tool_use.sse").read_bytes()
GET = Request("GET", "/v1/messages/batches/b/results", (("x-api-key", "sk-secret-123"),))
MiB = 1024 * 1024
PING = b'event: ping\ndata: {"type": "ping"}\n\n'
SSE = "text/event-stream"
JSONL = "application/x-jsonl"


def head(media_type: str, encoding: str = "gzip", length: int | None = None) -> bytes:
    framing = "transfer-encoding: chunked" if length is None else f"content-length: {length}"
    return (
        f"HTTP/1.1 200 OK\r\ncontent-type: {media_type}\r\ncontent-encoding: {encoding}\r\n"
        f"{framing}\r\n\r\n"
    ).encode()


def response(media_type: str, body: bytes, encoding: str = "gzip") -> bytes:
    return head(media_type, encoding, len(body)) + body


def chunk(data: bytes) -> bytes:
    """One piece of chunked framing (b"" gives the last chunk)."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


Outcome = tuple[list[Any], str | None]  # the events, then the error (type and text) or None


def outcome(chunks: Iterable[bytes], **options: Any) -> Outcome:
    """Every event `chunks` and then EOF give, and the first error (raised by a later call)."""
    client = ClientConnection("api.test", **options)
    client.send_request(GET)
    events: list[Any] = []
    try:
        for data in [*chunks, b""]:
            events.extend(client.receive_data(data))
        return _comparable(events), None
    except wire.WireError as error:
        return _comparable(events), f"{type(error).__name__}: {error}"


def _comparable(events: list[Any]) -> list[Any]:
    """Errors among the events (they compare by identity) as their type and text."""
    return [_value(event) for event in events]


def _value(event: Any) -> Any:
    if isinstance(event, Exception):
        return f"{type(event).__name__}: {event}"
    if isinstance(event, wire.StreamIncomplete):
        return ("StreamIncomplete", _value(event.error), event.partial_message)
    if isinstance(event, wire.ErrorResponse):
        return ("ErrorResponse", _value(event.error))
    return event


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def body_of(events: list[Any]) -> bytes:
    return b"".join(event.data for event in events if isinstance(event, BodyData))


def bomb(total: int, payload: bytes = b"\0", piece: int = 16 * 1024) -> Iterator[bytes]:
    """gzip of `payload` repeated to `total` bytes, built lazily, in ~`piece` byte pieces."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = payload * (MiB // len(payload))
    pending, made = b"", 0
    while made < total:
        pending += packer.compress(block)
        made += len(block)
        while len(pending) >= piece:
            yield pending[:piece]
            pending = pending[piece:]
    yield pending + packer.flush()


# --- item 2: bounded --------------------------------------------------------------------------


def test_a_jsonl_bomb_is_refused_after_bounded_output() -> None:
    """Was: 1,019 KiB of gzip as JSONL -> one call returned 1,023 MiB of BodyData."""
    client = ClientConnection("api.test")
    client.send_request(GET)
    client.receive_data(head(JSONL))
    produced = fed = peak = 0
    with pytest.raises(wire.DecompressionBombError) as info:  # noqa: PT012
        for piece in bomb(1024 * MiB):
            fed += len(piece)
            out = len(body_of(client.receive_data(chunk(piece))))
            produced, peak = produced + out, max(peak, out)
    assert info.value.limit == "max_decompression_ratio"
    assert produced <= wire._connection.DEFAULT_DECOMPRESSION_RATIO_FLOOR + 256 * 1024
    assert fed < 64 * 1024
    assert peak <= 16 * MiB + 256 * 1024


def test_an_sse_ping_bomb_is_refused_after_bounded_events() -> None:
    """Was: 373 KiB of gzipped pings -> 3.74 million Ping events, 25 s of CPU."""
    floor = 256 * 1024
    events, error = outcome(
        [head(SSE), *(chunk(piece) for piece in bomb(64 * MiB, PING, piece=1024))],
        decompression_ratio_floor=floor,
    )
    assert error is not None
    assert error.startswith("DecompressionBombError")
    assert "max_decompression_ratio" in error
    pings = sum(isinstance(event, wire.Ping) for event in events)
    assert 0 < pings <= (floor + 256 * 1024) // len(PING)


def test_one_receive_data_call_is_bounded() -> None:
    body = b"".join(bomb(64 * MiB))
    events, error = outcome(
        [response(JSONL, body)], max_decompressed_per_call=4 * MiB, max_decompression_ratio=1e9
    )
    assert error == (
        "DecompressionBombError: decompressed output of at least 4456448 bytes exceeds "
        "max_decompressed_per_call=4194304"
    )
    assert 0 < len(body_of(events)) <= 4 * MiB  # what came before the breach comes first


def test_the_per_call_budget_is_per_receive_data_call() -> None:
    body = b"".join(bomb(6 * MiB))
    raw = response(JSONL, body)
    events, error = outcome(
        [raw[: len(raw) // 2], raw[len(raw) // 2 :]],
        max_decompressed_per_call=4 * MiB,
        max_decompression_ratio=1e9,
    )
    assert error is None
    assert body_of(events) == bytes(6 * MiB)


def test_the_defaults_never_trouble_a_real_stream() -> None:
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    body = packer.compress(SAMPLE * 20) + packer.flush()
    expected, _ = outcome([response(SSE, SAMPLE, encoding="identity")])
    events, error = outcome([response(SSE, gzip.compress(SAMPLE))])
    assert error is None
    assert events[1:] == expected[1:]
    assert len(SAMPLE * 20) / len(body) > 20  # a stream gzipped whole is highly compressible


# --- item 4: every member ---------------------------------------------------------------------


def test_two_jsonl_members_give_both_lines() -> None:
    body = gzip.compress(b'{"a":1}\n') + gzip.compress(b'{"b":2}\n')
    events, error = outcome([response(JSONL, body)])
    assert error is None
    assert body_of(events) == b'{"a":1}\n{"b":2}\n'
    assert events[-1] == ResponseComplete(reusable=True)


def test_a_json_body_split_across_members_parses() -> None:
    text = json.dumps({"id": "msg_1", "content": [{"type": "text", "text": "é" * 50}]}).encode()
    body = b"".join(gzip.compress(text[i : i + 7]) for i in range(0, len(text), 7))
    events, error = outcome([response("application/json", body)])
    assert error is None
    assert events[1] == JSONBody(json.loads(text))


def test_sse_with_one_member_per_event_gives_every_event() -> None:
    parts = SAMPLE.split(b"\n\n")
    body = b"".join(gzip.compress(part + b"\n\n") for part in parts if part)
    expected, _ = outcome([response(SSE, SAMPLE, encoding="identity")])
    for chunks in ([response(SSE, body)], bytewise(response(SSE, body))):
        events, error = outcome(chunks)
        assert error is None
        assert events[1:] == expected[1:]


def test_garbage_after_a_member_is_an_error() -> None:
    body = gzip.compress(b'{"a":1}\n') + b"\0\0<html>"
    events, error = outcome([response(JSONL, body)])
    assert body_of(events) == b'{"a":1}\n'
    assert error == (
        "RemoteProtocolError: data after gzip member 1 is neither padding nor a gzip member"
    )


def test_zero_padding_after_a_member_is_allowed() -> None:
    events, error = outcome([response(JSONL, gzip.compress(b"x\n") + bytes(8))])
    assert error is None
    assert body_of(events) == b"x\n"


def test_data_after_a_deflate_stream_is_an_error() -> None:
    body = zlib.compress(b"x\n") + zlib.compress(b"y\n")
    events, error = outcome([response(JSONL, body, encoding="deflate")])
    assert body_of(events) == b"x\n"
    assert error == "RemoteProtocolError: data follows the end of the deflate stream"


# --- item 5B: the same in every chunking ------------------------------------------------------


def test_a_bad_crc_gives_the_pings_then_the_error_in_every_chunking() -> None:
    """Was: fed whole -> no pings, then the error; a byte at a time -> three pings."""
    body = bytearray(gzip.compress(PING * 3))
    body[-8] ^= 1
    raw = head(SSE) + chunk(bytes(body)) + chunk(b"")
    whole = outcome([raw])
    assert [type(event) for event in whole[0]] == [ResponseHead, wire.Ping, wire.Ping, wire.Ping]
    assert whole[1] is not None
    assert "incorrect data check" in whole[1]
    assert outcome(bytewise(raw)) == whole


@st.composite
def compressed_sse(draw: st.DrawFn) -> bytes:
    """The sample stream, perhaps with a bad event; gzip or deflate, in members or flushes;
    perhaps damaged."""
    encoding = draw(st.sampled_from(["gzip", "deflate"]))
    text = SAMPLE
    if draw(st.booleans()):  # a bad event at an event boundary
        ends = [i + 2 for i in range(len(text)) if text.startswith(b"\n\n", i)]
        at = draw(st.sampled_from(ends))
        text = text[:at] + b"event: ping\ndata: {bad\n\n" + text[at:]
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=4)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    if encoding == "gzip" and draw(st.booleans()):
        body = b"".join(gzip.compress(piece, mtime=0) for piece in pieces)
    else:
        packer = zlib.compressobj(6, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
        body = b"".join(packer.compress(p) + packer.flush(zlib.Z_SYNC_FLUSH) for p in pieces)
        body += packer.flush()
    damage = draw(st.sampled_from(["none", "flip", "truncate", "tail"]))
    if damage == "flip":
        at = draw(st.integers(4, len(body) - 1))
        body = body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
    elif damage == "truncate":
        body = body[: draw(st.integers(0, len(body) - 1))]
    elif damage == "tail":
        body += draw(st.binary(min_size=1, max_size=4))
    chunked = draw(st.booleans())
    if chunked:
        return head(SSE, encoding) + chunk(body) + chunk(b"")
    return response(SSE, body, encoding)


@given(st.data())
def test_compressed_sse_gives_the_same_events_and_error_in_every_chunking(
    data: st.DataObject,
) -> None:
    raw = data.draw(compressed_sse())
    whole = outcome([raw])
    assert outcome(data.draw(chunkings(raw, max_chunks=300))) == whole


def test_a_bad_event_before_bad_gzip_is_the_first_error_in_every_chunking() -> None:
    body = gzip.compress(PING * 2 + b"event: ping\ndata: {bad\n\n" + PING) + b"junk"
    raw = head(SSE) + chunk(body) + chunk(b"")
    whole = outcome([raw])
    assert [type(event) for event in whole[0]] == [ResponseHead, wire.Ping, wire.Ping]
    assert whole[1] is not None
    assert whole[1].startswith("EventDecodeError")
    assert outcome(bytewise(raw)) == whole


def test_a_bad_event_before_a_cut_short_body_is_the_first_error() -> None:
    body = gzip.compress(PING * 2 + b"event: ping\ndata: {bad\n\n" + PING)[:-3]
    raw = response(SSE, body)
    whole = outcome([raw])
    assert whole[1] is not None
    assert whole[1].startswith("EventDecodeError")
    assert outcome(bytewise(raw)) == whole
