"""Incremental, bounded, exact gzip/deflate decoding for response bodies (sans-IO: zlib only).

`Inflater.feed(data)` yields the decoded bytes `data` completes, lazily and
in pieces of at most `STEP` bytes, so a consumer can stop a bomb before the
next piece exists. Three rules make the output the same for every chunking
of the same bytes:

- everything zlib can decode from the bytes so far is produced before the
  call returns (no output is left pending inside zlib);
- when zlib meets a bad byte it drops the output of that whole call; the
  inflater replays the call's input from a copy of the decoder taken before
  it, a byte at a time near the fault, and yields what came before the bad
  byte, then raises;
- gzip is decoded member after member, as `gzip.decompress` does: zero bytes
  between or after members are padding; anything else there must be a new
  member. deflate is one stream (zlib-wrapped or raw, the first two bytes
  decide), and nothing may follow it.

Limits (`DecompressionBombError`): past `ratio_floor` bytes of output, the
output may be at most `max_ratio` times the compressed bytes consumed; and
one call (from `new_call()` to the next) may produce at most `max_per_call`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from ._errors import DecompressionBombError, RemoteProtocolError

__all__ = [
    "DEFAULT_DECOMPRESSION_RATIO_FLOOR",
    "DEFAULT_MAX_DECOMPRESSED_PER_CALL",
    "DEFAULT_MAX_DECOMPRESSION_RATIO",
    "STEP",
    "Inflater",
]

# Output produced before the ratio applies: more than any single Message the
# API returns (128k output tokens are ~0.5 MiB of text) however well it
# compresses, e.g. a reply stuck repeating one sentence (~330x).
DEFAULT_DECOMPRESSION_RATIO_FLOOR = 8 * 1024 * 1024
# Past the floor: gzip of real SSE and JSON is 5-25x (a stream flushed per
# event ~8x, gzipped whole ~24x); deflate can reach ~1,030x. 100 leaves real
# bodies (long JSONL batch results) a wide margin and caps a bomb's gain.
DEFAULT_MAX_DECOMPRESSION_RATIO = 100.0
# Decoded bytes one `receive_data()` may produce: 64 KiB socket reads of real
# gzip make ~1.5 MiB; a whole recorded response fed at once stays far under.
DEFAULT_MAX_DECOMPRESSED_PER_CALL = 16 * 1024 * 1024

STEP = 256 * 1024  # the largest piece of output produced at once
_REPLAY_BLOCK = 1024  # replay granularity before going byte by byte
_GZIP_MAGIC = b"\x1f\x8b"


class Inflater:
    """Decode one gzip or deflate body incrementally, within limits.

    `encoding` is "gzip" or "deflate". Errors are `RemoteProtocolError`
    (a bad or truncated body, naming it) and `DecompressionBombError` (a
    limit, named by `.limit`); the output before either is yielded first.
    """

    def __init__(
        self,
        encoding: str,
        *,
        max_ratio: float = DEFAULT_MAX_DECOMPRESSION_RATIO,
        ratio_floor: int = DEFAULT_DECOMPRESSION_RATIO_FLOOR,
        max_per_call: int = DEFAULT_MAX_DECOMPRESSED_PER_CALL,
    ) -> None:
        if encoding not in ("gzip", "deflate"):
            raise ValueError(f"encoding: must be 'gzip' or 'deflate', not {encoding!r}")
        self.encoding = encoding
        self.max_ratio = max_ratio
        self.ratio_floor = ratio_floor
        self.max_per_call = max_per_call
        self.wire = 0  # compressed bytes consumed
        self.output = 0  # decoded bytes produced
        self._call_output = 0
        self._zlib: Any = None  # the decoder of the current member or stream
        self._wbits = 0  # its zlib window bits
        self._fresh = False  # it has had no input yet
        self._head = b""  # gzip: the magic of the next member; deflate: the first two bytes
        self._members = 0  # gzip members completed
        self._ended = False  # deflate: the stream is complete

    def new_call(self) -> None:
        """Start counting toward `max_per_call` afresh (one `receive_data()` call)."""
        self._call_output = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Yield the output `data` completes, in pieces of at most `STEP` bytes."""
        while data:
            if self._zlib is None:
                data = self._start(data)
                if self._zlib is None:
                    return
            decoder = self._zlib
            yield from self._run(decoder, data)
            if not decoder.eof:
                return
            data = decoder.unused_data
            self._zlib = None
            if self.encoding == "gzip":
                self._members += 1
            else:
                self._ended = True

    def finish(self) -> Iterator[bytes]:
        """End of body: raise `RemoteProtocolError` unless it ended where a body may end."""
        if self._zlib is not None or self._head:
            raise RemoteProtocolError(f"the {self.encoding} body is cut short")
        yield from ()  # every output was produced by feed(); a generator, so raising is lazy

    def _start(self, data: bytes) -> bytes:
        """Between members or before the body: check what begins; return the bytes left."""
        if self.encoding == "deflate":
            if self._ended:
                raise RemoteProtocolError("data follows the end of the deflate stream")
            head = self._head + data
            if len(head) < 2:
                self._head = head
                return b""
            self._head = b""
            first, second = head[0], head[1]
            wrapped = first & 0x0F == 8 and (first * 256 + second) % 31 == 0
            self._open(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            return head
        if self._members and not self._head:
            stripped = data.lstrip(b"\0")  # zero padding after a member, as gzip allows
            self.wire += len(data) - len(stripped)
            data = stripped
        head = self._head + data[: 2 - len(self._head)]
        if not _GZIP_MAGIC.startswith(head):
            if self._members:
                raise RemoteProtocolError(
                    f"data after gzip member {self._members} is neither padding nor a gzip member"
                )
            raise RemoteProtocolError("the gzip body does not start with a gzip header")
        data = head + data[2 - len(self._head) :]
        if len(head) < 2:
            self._head = head
            return b""
        self._head = b""
        self._open(16 + zlib.MAX_WBITS)
        return data

    def _open(self, wbits: int) -> None:
        self._zlib = zlib.decompressobj(wbits)
        self._wbits = wbits
        self._fresh = True

    def _run(self, decoder: Any, data: bytes) -> Iterator[bytes]:
        """Decode `data` with `decoder`, draining zlib fully, within the limits."""
        # To replay `data` if zlib fails on it (a new decoder is cheaper to remake than copy).
        saved = None if self._fresh else decoder.copy()
        self._fresh = False
        base = self.wire
        produced = 0
        try:
            chunk = decoder.decompress(data, STEP)
            while True:
                left = len(decoder.unconsumed_tail) + len(decoder.unused_data)
                self.wire = base + len(data) - left
                if chunk:
                    self._account(len(chunk))
                    produced += len(chunk)
                    yield chunk
                if decoder.eof or not (decoder.unconsumed_tail or len(chunk) == STEP):
                    return
                chunk = decoder.decompress(decoder.unconsumed_tail, STEP)
        except zlib.error as exc:
            error = exc
        self.wire = base + len(data)
        if saved is None:
            saved = zlib.decompressobj(self._wbits)
        for chunk in _replay(saved, data, produced):
            self._account(len(chunk))
            yield chunk
        raise RemoteProtocolError(f"bad {self.encoding} body: {error}") from error

    def _account(self, size: int) -> None:
        """Count `size` more output bytes; raise if they break a limit."""
        self.output += size
        self._call_output += size
        if self._call_output > self.max_per_call:
            raise DecompressionBombError(
                "max_decompressed_per_call", self.max_per_call, self._call_output
            )
        if self.output > self.ratio_floor and self.output > self.max_ratio * self.wire:
            allowed = max(self.ratio_floor, int(self.max_ratio * self.wire))
            raise DecompressionBombError(
                "max_decompression_ratio", allowed, self.output, compressed=self.wire
            )


def _replay(saved: Any, data: bytes, skip: int) -> Iterator[bytes]:
    """The output `data` gives from decoder state `saved` before its bad byte, past `skip` bytes.

    Whole blocks first (each tried on a copy), then the failing block a byte
    at a time: the output ends where byte-at-a-time feeding would end it.
    """
    good, bad = saved, b""
    for start in range(0, len(data), _REPLAY_BLOCK):
        block = data[start : start + _REPLAY_BLOCK]
        trial = good.copy()
        try:
            pieces = _drain(trial, block)
        except zlib.error:
            bad = block
            break
        good = trial
        for piece in pieces:
            if skip >= len(piece):
                skip -= len(piece)
            else:
                yield piece[skip:]
                skip = 0
    for index in range(len(bad)):
        try:
            pieces = _drain(good, bad[index : index + 1])
        except zlib.error:
            return
        for piece in pieces:
            if skip >= len(piece):
                skip -= len(piece)
            else:
                yield piece[skip:]
                skip = 0


def _drain(decoder: Any, data: bytes) -> list[bytes]:
    """All the output of `data` (a short block: at most ~1 MiB), in `STEP` pieces."""
    pieces = [decoder.decompress(data, STEP)]
    while not decoder.eof and (decoder.unconsumed_tail or len(pieces[-1]) == STEP):
        pieces.append(decoder.decompress(decoder.unconsumed_tail, STEP))
    return [piece for piece in pieces if piece]
