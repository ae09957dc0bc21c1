"""The inflater (wire._inflate): exact against gzip/zlib, the same in every chunking, bounded."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wire import _inflate
from wire._errors import DecompressionBombError, WireError
from wire._inflate import Inflater
from wire.testing.strategies import chunkings

Outcome = tuple[bytes, str | None]  # all output, then the error (type and text) or None


def run(encoding: str, chunks: list[bytes], **limits: Any) -> Outcome:
    """Feed `chunks` one call each; the output is kept even when an error follows it."""
    inflater = Inflater(encoding, **limits)
    out = bytearray()
    try:
        for chunk in chunks:
            inflater.new_call()
            for piece in inflater.feed(chunk):
                assert 0 < len(piece) <= _inflate.STEP
                out += piece
        for piece in inflater.finish():
            out += piece
    except WireError as error:
        return bytes(out), f"{type(error).__name__}: {error}"
    return bytes(out), None


@contextmanager
def step(size: int) -> Iterator[None]:
    """Run with output pieces of `size` bytes, so small inputs take many steps."""
    saved = _inflate.STEP
    _inflate.STEP = size
    try:
        yield
    finally:
        _inflate.STEP = saved


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


# --- inputs -----------------------------------------------------------------------------------

_TEXT = st.sampled_from(
    [b'event: ping\ndata: {"type": "ping"}\n\n', b"hello ", "é東🌤\n".encode(), b"\0" * 40]
)
payloads = st.one_of(
    st.binary(max_size=300),
    st.lists(_TEXT, max_size=40).map(b"".join),
)


@st.composite
def deflate_body(draw: st.DrawFn, wbits: int) -> bytes:
    """`payload` compressed as one stream, with sync flushes at random places."""
    payload = draw(payloads)
    cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=3)))
    level = draw(st.sampled_from([0, 1, 6, 9]))
    packer = zlib.compressobj(level, zlib.DEFLATED, wbits)
    out, start = [], 0
    for cut in cuts:
        out.append(packer.compress(payload[start:cut]) + packer.flush(zlib.Z_SYNC_FLUSH))
        start = cut
    out.append(packer.compress(payload[start:]) + packer.flush())
    return b"".join(out)


@st.composite
def gzip_body(draw: st.DrawFn) -> tuple[bytes, set[int]]:
    """1-3 members with optional zero padding between; also the offsets of the flag bytes."""
    body, flags = b"", set()
    for index in range(draw(st.integers(1, 3))):
        if index and draw(st.booleans()):
            body += b"\0" * draw(st.integers(1, 5))
        flags.add(len(body) + 3)
        if draw(st.booleans()):
            body += draw(deflate_body(16 + zlib.MAX_WBITS))
        else:  # a header with a file name (FNAME)
            buffer = io.BytesIO()
            with gzip.GzipFile("ab.txt", "wb", fileobj=buffer, mtime=1) as packer:
                packer.write(draw(payloads))
            body += buffer.getvalue()
    return body, flags


@st.composite
def mutated(draw: st.DrawFn, body: bytes, keep: set[int]) -> bytes:
    """`body` unchanged, with a flipped byte (not at `keep`), truncated, or with a tail."""
    kind = draw(st.sampled_from(["none", "flip", "truncate", "garbage", "zeros"]))
    if kind == "flip":
        spots = [i for i in range(len(body)) if i not in keep]
        if spots:
            at = draw(st.sampled_from(spots))
            return body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
    if kind == "truncate":
        return body[: draw(st.integers(0, len(body)))]
    if kind == "garbage":
        return body + draw(st.binary(min_size=1, max_size=6))
    if kind == "zeros":
        return body + b"\0" * draw(st.integers(1, 6))
    return body


# --- references -------------------------------------------------------------------------------


def gzip_reference(data: bytes) -> bytes | None:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return None


def deflate_reference(data: bytes) -> bytes | None:
    """One zlib-wrapped or raw stream (the first two bytes decide) with nothing after it."""
    if not data:
        return b""  # an empty body is no body
    if len(data) < 2:
        return None
    wrapped = data[0] & 0x0F == 8 and (data[0] * 256 + data[1]) % 31 == 0
    decoder = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
    try:
        out = decoder.decompress(data)
    except zlib.error:
        return None
    return out if decoder.eof and not decoder.unused_data else None


def check_exact(encoding: str, data: bytes, chunks: list[bytes], size: int) -> None:
    reference = (gzip_reference if encoding == "gzip" else deflate_reference)(data)
    with step(size):
        whole = run(encoding, [data] if data else [])
        assert run(encoding, chunks) == whole
        if len(data) <= 2000:
            assert run(encoding, bytewise(data)) == whole
    if reference is None:
        assert whole[1] is not None
        assert whole[1].startswith("RemoteProtocolError")
    else:
        assert whole == (reference, None)


_STEPS = st.sampled_from([_inflate.STEP, 1, 7, 64])


@given(st.data(), _STEPS)
def test_gzip_equals_gzip_decompress_in_every_chunking(data: st.DataObject, size: int) -> None:
    body, flags = data.draw(gzip_body())
    # A flag byte is left alone: reserved bits or FHCRC are errors here (RFC 1952, as zlib
    # checks them) but ignored by gzip.decompress.
    body = data.draw(mutated(body, flags))
    check_exact("gzip", body, data.draw(chunkings(body)), size)


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS])
@given(data=st.data(), size=_STEPS)
def test_deflate_equals_zlib_in_every_chunking(wbits: int, data: st.DataObject, size: int) -> None:
    body = data.draw(mutated(data.draw(deflate_body(wbits)), set()))
    check_exact("deflate", body, data.draw(chunkings(body)), size)


@given(st.data(), _STEPS)
def test_truncated_gzip_gives_a_prefix_then_cut_short(data: st.DataObject, size: int) -> None:
    payload = data.draw(payloads)
    body = gzip.compress(payload, mtime=0)
    cut = body[: data.draw(st.integers(0, len(body) - 1))]
    with step(size):
        out, error = run("gzip", data.draw(chunkings(cut)) if cut else [])
    assert payload.startswith(out)
    assert error == (None if not cut else "RemoteProtocolError: the gzip body is cut short")


# --- the cases ------------------------------------------------------------------------

PING = b'event: ping\ndata: {"type": "ping"}\n\n'


def test_output_before_a_bad_crc_comes_first_in_every_chunking() -> None:
    body = bytearray(gzip.compress(PING * 3))
    body[-8] ^= 1  # the CRC
    whole = run("gzip", [bytes(body)])
    assert whole[0] == PING * 3
    assert whole[1] is not None
    assert "incorrect data check" in whole[1]
    assert run("gzip", bytewise(bytes(body))) == whole


def test_every_gzip_member_is_decoded() -> None:
    body = gzip.compress(b'{"a":1}\n') + gzip.compress(b'{"b":2}\n')
    assert run("gzip", [body]) == (b'{"a":1}\n{"b":2}\n', None)


def test_zero_padding_after_a_member_is_allowed_but_not_before() -> None:
    body = gzip.compress(b"x")
    assert run("gzip", [body + b"\0" * 9]) == (b"x", None)
    assert run("gzip", [body, b"\0", b"\0" + gzip.compress(b"y")]) == (b"xy", None)
    assert run("gzip", [b"\0" + body])[1] == (
        "RemoteProtocolError: the gzip body does not start with a gzip header"
    )


def test_garbage_after_a_member_is_named() -> None:
    out, error = run("gzip", [gzip.compress(b"x") + b"\0\0junk"])
    assert out == b"x"
    assert error == (
        "RemoteProtocolError: data after gzip member 1 is neither padding nor a gzip member"
    )


@pytest.mark.parametrize("tail", [b"\0", b"x", zlib.compress(b"y")])
def test_nothing_may_follow_a_deflate_stream(tail: bytes) -> None:
    assert run("deflate", [zlib.compress(b"x") + tail]) == (
        b"x",
        "RemoteProtocolError: data follows the end of the deflate stream",
    )


def test_an_empty_body_is_empty_and_a_lone_byte_is_cut_short() -> None:
    assert run("gzip", []) == (b"", None)
    assert run("deflate", []) == (b"", None)
    assert run("deflate", [b"x"]) == (b"", "RemoteProtocolError: the deflate body is cut short")
    assert run("gzip", [b"\x1f"]) == (b"", "RemoteProtocolError: the gzip body is cut short")


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(ValueError, match="encoding"):
        Inflater("br")


# --- bombs ------------------------------------------------------------------------------------

MiB = 1024 * 1024


def bomb(total: int, wbits: int = 16 + zlib.MAX_WBITS, piece: int = 64 * 1024) -> Iterator[bytes]:
    """`total` zero bytes compressed, produced lazily in pieces of about `piece` bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(MiB)
    pending = b""
    for _ in range(total // MiB):
        pending += packer.compress(zeros)
        while len(pending) >= piece:
            yield pending[:piece]
            pending = pending[piece:]
    pending += packer.flush()
    for start in range(0, len(pending), piece):
        yield pending[start : start + piece]


@dataclass
class Drive:
    """What feeding pieces (one call each) until an error or the end did."""

    fed: int = 0
    produced: int = 0
    peak_per_call: int = 0
    error: WireError | None = None


def drive(inflater: Inflater, pieces: Iterable[bytes]) -> Drive:
    result = Drive()
    try:
        for piece in pieces:
            result.fed += len(piece)
            inflater.new_call()
            produced = 0
            for chunk in inflater.feed(piece):
                produced += len(chunk)
            result.produced += produced
            result.peak_per_call = max(result.peak_per_call, produced)
    except WireError as error:
        result.error = error
    return result


@pytest.mark.parametrize(
    ("encoding", "wbits"),
    [("gzip", 16 + zlib.MAX_WBITS), ("deflate", zlib.MAX_WBITS), ("deflate", -zlib.MAX_WBITS)],
)
def test_a_gigabyte_bomb_stops_at_the_ratio_with_bounded_memory(encoding: str, wbits: int) -> None:
    tracemalloc.start()
    try:
        result = drive(Inflater(encoding), bomb(1024 * MiB, wbits, piece=4096))
        memory = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    error = result.error
    assert isinstance(error, DecompressionBombError)
    assert error.limit == "max_decompression_ratio"
    assert error.compressed is not None
    assert error.compressed <= result.fed
    assert error.size > _inflate.DEFAULT_DECOMPRESSION_RATIO_FLOOR
    assert error.size <= error.maximum + _inflate.STEP
    # At 1,030x the floor is reached after ~8 KiB; one 4 KiB piece makes at most ~4 MiB.
    assert result.fed < 64 * 1024
    assert result.peak_per_call <= 5 * MiB
    assert memory < 4 * MiB  # a piece of output at a time, never the whole


def test_one_call_is_bounded_however_big_its_input() -> None:
    body = b"".join(bomb(64 * MiB))
    inflater = Inflater("gzip", max_ratio=float("inf"), max_per_call=4 * MiB)
    result = drive(inflater, [body])
    assert isinstance(result.error, DecompressionBombError)
    assert result.error.limit == "max_decompressed_per_call"
    assert result.error.maximum == 4 * MiB
    assert result.produced <= 4 * MiB


def test_the_per_call_budget_starts_afresh_with_each_call() -> None:
    body = b"".join(bomb(6 * MiB))
    inflater = Inflater("gzip", max_ratio=float("inf"), max_per_call=4 * MiB)
    result = drive(inflater, [body[: len(body) // 2], body[len(body) // 2 :]])
    assert result.error is None
    assert result.produced == 6 * MiB


def test_the_ratio_counts_every_member() -> None:
    member = gzip.compress(bytes(MiB), compresslevel=9)
    result = drive(Inflater("gzip", ratio_floor=2 * MiB, max_ratio=100), [member] * 4)
    assert isinstance(result.error, DecompressionBombError)
    assert result.error.limit == "max_decompression_ratio"
    assert 2 * MiB < result.error.size <= 3 * MiB


@given(payloads, st.integers(0, 400), st.sampled_from([0.5, 1.0, 3.0]), st.data())
def test_output_never_passes_the_ratio_allowance(
    payload: bytes, floor: int, ratio: float, data: st.DataObject
) -> None:
    body = gzip.compress(payload, mtime=0)
    inflater = Inflater("gzip", ratio_floor=floor, max_ratio=ratio)
    out = fed = 0
    error: WireError | None = None
    try:
        for chunk in data.draw(chunkings(body)):
            fed += len(chunk)
            for piece in inflater.feed(chunk):
                out += len(piece)
                assert out <= max(floor, ratio * fed)
    except WireError as exc:
        error = exc
    if error is None:
        assert out == len(payload)
    else:  # only the ratio may refuse a good body, and only past its allowance
        assert isinstance(error, DecompressionBombError)
        assert error.size > max(floor, ratio * (error.compressed or 0))
