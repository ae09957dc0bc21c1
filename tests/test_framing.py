"""wire's own chunked decoder (`wire._framing`) against h11, the reference it replaces.

The oracle is the same `ClientConnection` with the decoder switched off, so
that h11 reads every chunk as before: on random valid and broken chunked
bodies (sizes, extensions, whitespace, trailers, bytes after the response,
cut-offs, corrupted, inserted or deleted bytes) in random chunkings, both give
the same events (the body bytes, the end, reuse), the same cut-off text and
the same first error class.
"""

from __future__ import annotations

import gc
import math
import time
from typing import Any

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wire
from tests.helpers import splits
from wire._connection import BodyData, ClientConnection
from wire._framing import ChunkedDecoder
from wire.builders import Request
from wire.testing.strategies import chunkings

GET = Request("GET", "/v1/x", ())
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n"
SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"


class _H11Only(ClientConnection):
    """The reference: h11 reads the chunks, as it did before wire's decoder."""

    def _is_chunked(self, head: wire.ResponseHead) -> bool:
        return False


def run(cls: type[ClientConnection], chunks: list[bytes], **options: Any) -> tuple[Any, ...]:
    """Events (body bytes joined; errors by class and text), the first error's class, state."""
    client = cls("h", **options)
    client.send_request(GET)
    events: list[Any] = []
    error: type[BaseException] | None = None
    try:
        for chunk in [*chunks, b""]:
            events.extend(client.receive_data(chunk))
    except wire.WireError as exc:
        error = type(exc)
    out: list[Any] = []
    for event in events:
        if isinstance(event, BodyData) and out and isinstance(out[-1], bytes):
            out[-1] += event.data
        elif isinstance(event, BodyData):
            out.append(event.data)
        elif isinstance(event, wire.StreamIncomplete):
            out.append(("incomplete", str(event.error), event.partial_message))
        else:
            out.append(event)
    return out, error, client.state


# --- random chunked bodies ------------------------------------------------------------------

_HEX_CASE = st.sampled_from(["x", "X"])


# Size lines Python's int(x, 16) reads but HTTP does not allow, and other near misses.
_NEAR_MISSES = ["0x%x", "0X%x", "%x_0", "+%x", "-%x", " %x", "%x\x0b", "%x\x0c", "%x\n", "%x;\n"]


@st.composite
def size_lines(draw: st.DrawFn, size: int, hostile: bool = False) -> bytes:
    """A valid size line for `size`: any case, leading zeros, an extension, whitespace.

    `hostile`: sometimes a near miss instead (see `_NEAR_MISSES`).
    """
    if hostile and draw(st.integers(0, 3)) == 0:
        return (draw(st.sampled_from(_NEAR_MISSES)) % size).encode() + b"\r\n"
    digits = format(size, draw(_HEX_CASE))
    digits = "0" * draw(st.integers(0, 20 - len(digits))) + digits
    ext = b""
    if draw(st.booleans()):
        ext = b";" + draw(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")))
        ext = ext.replace(b"\r\n", b"")  # a CRLF would end the line early
        if ext.endswith(b"\r"):
            ext += b"x"
    ows = draw(st.sampled_from([b"", b" ", b"\t", b" \t "]))
    return digits.encode() + ext + ows + b"\r\n"


@st.composite
def chunked_bodies(draw: st.DrawFn, hostile: bool = False) -> bytes:
    """A chunked body, sometimes with trailers and bytes after it (`hostile`: near misses)."""
    out = b""
    for data in draw(st.lists(st.binary(min_size=1, max_size=40), max_size=6)):
        out += draw(size_lines(len(data), hostile)) + data + b"\r\n"
    out += draw(size_lines(0, hostile))
    for name, value in draw(
        st.lists(st.tuples(st.sampled_from([b"x-t", b"bad name", b""]), st.binary(max_size=6)))
    ):
        out += name + b": " + value.replace(b"\n", b"").replace(b"\r", b"") + b"\r\n"
    out += b"\r\n"
    if draw(st.integers(0, 4)) == 0:
        out += draw(st.sampled_from([b"H", b"HTTP/1.1 200 OK\r\n\r\n", b"\r\n"]))
    return out


@st.composite
def broken(draw: st.DrawFn, body: bytes) -> bytes:
    """`body` with up to three bytes replaced, inserted or deleted, or cut short."""
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(body)))
        kind = draw(st.sampled_from(["replace", "insert", "delete", "cut"]))
        byte = draw(
            st.sampled_from(
                [b"\r", b"\n", b"0", b"a", b"g", b"x", b"_", b"-", b";", b" ", b"\t", b"\x00"]
            )
        )
        if kind == "replace":
            body = body[:at] + byte + body[at + 1 :]
        elif kind == "insert":
            body = body[:at] + byte + body[at:]
        elif kind == "delete":
            body = body[:at] + body[at + 1 :]
        else:
            body = body[:at]
    return body


@st.composite
def responses(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    head = draw(st.sampled_from([HEAD, SSE_HEAD, HEAD + b"connection: close\r\n"]))
    hostile = draw(st.integers(0, 2))
    body = draw(chunked_bodies(hostile=hostile == 1))
    if hostile == 2:
        body = draw(broken(body))
    raw = head + b"\r\n" + body
    return raw, draw(chunkings(raw, max_chunks=60))


@settings(max_examples=300, deadline=None)
@given(responses())
def test_the_decoder_agrees_with_h11_on_any_body_in_any_chunking(
    case: tuple[bytes, list[bytes]],
) -> None:
    raw, chunks = case
    reference = run(_H11Only, [raw])
    assert run(ClientConnection, chunks) == reference
    assert run(_H11Only, chunks) == reference  # the reference itself is chunking-blind


def test_the_oracle_is_not_the_decoder() -> None:
    # Guard against a vacuous comparison: the reference really lets h11 read the chunks.
    for cls, expected in ((_H11Only, None), (ClientConnection, ChunkedDecoder)):
        client = cls("h")
        client.send_request(GET)
        client.receive_data(HEAD + b"\r\n5\r\nab")
        chunked = client._chunked
        assert (None if chunked is None else type(chunked)) is expected


@pytest.mark.parametrize(
    "body",
    [
        b"5\r\nhello\r\n0\r\n\r\n",
        b"5;name=value\r\nhello\r\n0\r\n\r\n",
        b"5 \t\r\nhello\r\n0; last\r\nx-trailer: 1\r\n\r\n",
        b"0000000000000000000a\r\n0123456789\r\n0\r\n\r\n",
        b"00000000000000000000a\r\n0123456789\r\n0\r\n\r\n",  # 21 digits: refused
        b"zz\r\n",
        b"-5\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"5_0\r\nhello\r\n0\r\n\r\n",
        b" 5\r\nhello\r\n0\r\n\r\n",
        b"5\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloXY0\r\n\r\n",
        b"5\r\nhello\rX0\r\n\r\n",
        b"5\r\nhello\r\n0\r\n\r\nextra",
        b"5\r\nhel",
        b"5\r\nhello\r",
        b"5\r\nhello\r\n5",
        b"5\r\nhello\r\n0\r\n",
    ],
)
def test_examples_in_every_chunking(body: bytes) -> None:
    raw = HEAD + b"\r\n" + body
    reference = run(_H11Only, [raw])
    for chunks in splits(raw):
        assert run(ClientConnection, chunks) == reference, chunks


def test_the_examples_cover_each_outcome() -> None:
    # The table above is not vacuous: it has a clean end, an error and a cut-off.
    outcomes = []
    for body in (b"5\r\nhello\r\n0\r\n\r\n", b"zz\r\n", b"5\r\nhel"):
        events, error, _ = run(ClientConnection, [HEAD + b"\r\n" + body])
        outcomes.append((events[-1] == wire.ResponseComplete(reusable=True), error))
    assert outcomes == [
        (True, None),
        (False, wire.RemoteProtocolError),
        (False, wire.IncompleteBodyError),
    ]


# --- where wire decides: h11's framing rule ----------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
@pytest.mark.parametrize("status", [200, 204, 304, 404, 529])
@pytest.mark.parametrize(
    "framing",
    [
        [("transfer-encoding", "chunked")],
        [("transfer-encoding", "Chunked"), ("content-length", "5")],
        [("content-length", "5")],
        [],
    ],
)
def test_wire_reads_the_chunks_exactly_when_h11_would(
    method: str, status: int, framing: list[tuple[str, str]]
) -> None:
    client = ClientConnection("h")
    client.send_request(Request(method, "/", (), b"x" if method == "POST" else b""))
    head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in framing) + "\r\n"
    client.receive_data(head.encode())
    reader = type(client._h11._reader).__name__  # h11's own choice (private: tests only)
    h11_chunked = client._h11.their_state is h11.SEND_BODY and reader == "ChunkedReader"
    assert (client._chunked is not None) == h11_chunked


# --- the decoder alone --------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_the_body_comes_back_in_one_piece_per_feed(data: st.DataObject) -> None:
    pieces = data.draw(st.lists(st.binary(min_size=1, max_size=30), min_size=1, max_size=8))
    raw = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    chunks = data.draw(chunkings(raw, max_chunks=20))
    decoder = ChunkedDecoder(100)
    got, consumed, tail = [], 0, None
    for chunk in chunks:
        out, tail, error = decoder.feed(chunk)
        assert error is None
        assert type(out) is bytes  # one piece, whatever the chunks in it
        got.append(out)
        consumed += len(chunk)
        if tail is not None:
            break
    assert b"".join(got) == b"".join(pieces)
    assert tail == raw[len(raw) - 5 : consumed]  # from the last chunk's line, for h11


@pytest.mark.parametrize("over", [0, 1])
def test_the_size_line_limit_is_exact_in_every_chunking(over: int) -> None:
    line = b"5;" + b"e" * (28 + over)  # 30 bytes: the limit; 31: one over
    raw = line + b"\r\nhello\r\n"
    for chunks in splits(raw):
        decoder = ChunkedDecoder(30)
        errors = [error for chunk in chunks if (error := decoder.feed(chunk)[2]) is not None]
        assert [type(e) for e in errors[:1]] == ([wire.SizeLimitError] if over else []), chunks
        if over:
            assert isinstance(errors[0], wire.SizeLimitError)
            assert (errors[0].limit, errors[0].size) == ("max_header_bytes", 31)


def test_a_size_line_over_the_limit_is_refused_in_one_call_too() -> None:
    # h11 bounds only a line still incomplete; wire refuses it however it arrives.
    client = ClientConnection("h", max_header_bytes=1024)
    client.send_request(GET)
    events = client.receive_data(HEAD + b"\r\n5;" + b"e" * 2000 + b"\r\nhello\r\n0\r\n\r\n")
    assert [type(e) for e in events] == [wire.ResponseHead]
    error = client.pending_error
    assert isinstance(error, wire.SizeLimitError)
    assert error.limit == "max_header_bytes"


def test_a_size_line_in_one_byte_pieces_is_held_up_to_the_limit() -> None:
    decoder = ChunkedDecoder(4096)
    for byte in [b"0"] + [b"e"] * 4095:
        assert decoder.feed(byte) == (b"", None, None)
    assert len(decoder.held) == 4096
    error = decoder.feed(b"e")[2]
    assert isinstance(error, wire.SizeLimitError)
    assert error.size == 4097


def _one_byte_size_line(n: int) -> float:
    decoder = ChunkedDecoder(n + 10)
    pieces = [b"5", b";"] + [b"e"] * n + [b"\r", b"\n", b"hello\r\n"]
    start = time.perf_counter()
    for piece in pieces:
        assert decoder.feed(piece)[2] is None
    return time.perf_counter() - start


def test_a_size_line_held_byte_by_byte_costs_linear_time() -> None:
    # 4x the bytes cost 4x when linear and 16x when quadratic (the held bytes copied or
    # searched again on every call): the bound sits between (8x). Best of 3, interleaved.
    one = four = math.inf
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            one = min(one, _one_byte_size_line(131_072))
            four = min(four, _one_byte_size_line(524_288))
    finally:
        gc.enable()
    assert four / one <= 8
