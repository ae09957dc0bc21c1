"""Chunked transfer coding (RFC 9112 §7.1), decoded by wire once h11 has read the head.

Layer: core (stdlib only). Rule: as strict as h11, in time linear in the bytes
whatever the chunking, at C speed: one `bytes.find` and one `int(x, 16)` per
chunk, and all the data one `feed()` brings comes back joined in one piece, so
the body decoder sees one call per read rather than one per chunk.

`ChunkedDecoder` reads chunk-size lines and chunk data only. At the last chunk
(size 0) it stops and hands back `tail`: that line and every byte after it
(trailer section, final CRLF, and whatever follows the response), for h11 to
read exactly as it always did. h11 thus still parses the last-chunk line,
bounds and parses the trailers, finds bytes after the response (a keep-alive
desync), and decides whether the connection may be reused.

The grammar is h11's (0.16): a size line is 1 to 20 hex digits, optionally
`;` and an extension (any bytes but LF, not interpreted), then optional spaces
or tabs, then CRLF; the data is followed by exactly CRLF. A size line (CRLF
not counted) longer than `max_line_bytes` is refused as soon as that is known,
in every chunking (h11 bounds only a line still incomplete).
"""

from __future__ import annotations

import re

from ._errors import RemoteProtocolError, SizeLimitError

__all__ = ["ChunkedDecoder"]

# h11's chunk header, without its CRLF (the line is cut at the first CRLF).
_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,20})(?:;.*)?[ \t]*")
_CRLF = b"\r\n"
_HEX_DIGITS = b"0123456789abcdefABCDEF"


class ChunkedDecoder:
    """Decode a chunked body: `feed(data) -> (body bytes, tail or None, error or None)`.

    `tail` is not None once the last chunk's size line has arrived (see the
    module doc). `error` is a `RemoteProtocolError` found after the body
    bytes returned with it: the caller hands those on first, then raises.
    After a tail or an error, the decoder must not be fed again.
    """

    __slots__ = ("_crlf", "_held", "_left", "max_line_bytes")

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self._left = 0  # data bytes still to come in the current chunk
        self._crlf = b""  # what is still expected of the CRLF after a chunk's data
        self._held = bytearray()  # a size line in progress (no CRLF found yet)

    @property
    def held(self) -> bytes:
        """The start of a size line whose CRLF has not arrived (b"" when none)."""
        return bytes(self._held)

    def feed(self, data: bytes) -> tuple[bytes, bytes | None, RemoteProtocolError | None]:
        """Take the next bytes of the body; return the data they carry, the tail, an error."""
        pieces: list[bytes] = []
        try:
            tail = self._feed(data, pieces)
        except RemoteProtocolError as error:
            return b"".join(pieces), None, error
        return (pieces[0] if len(pieces) == 1 else b"".join(pieces)), tail, None

    def _feed(self, data: bytes, pieces: list[bytes]) -> bytes | None:
        """Append the data of `data` to `pieces`; the tail once the last chunk begins."""
        pos, end = 0, len(data)
        if self._held:  # a size line began in an earlier call
            done = self._complete_line(data)
            if done is None:
                return None
            line, pos = done
            if self._size(line):
                tail = bytes(self._held) + data
                self._held.clear()
                return tail
            self._held.clear()
        append, find = pieces.append, data.find
        left, crlf = self._left, self._crlf
        try:
            while pos < end:
                if left:
                    stop = pos + left
                    if stop > end:
                        append(data[pos:])
                        left = stop - end
                        break
                    append(data[pos:stop])
                    pos, left = stop, 0
                    if data.startswith(_CRLF, pos):  # the usual case: the CRLF is here
                        pos += 2
                    else:
                        crlf = _CRLF
                if crlf:
                    got = data[pos : pos + len(crlf)]
                    if not crlf.startswith(got):
                        raise RemoteProtocolError(
                            f"HTTP: malformed chunk footer: {got!r} (expected {crlf!r})"
                        )
                    pos += len(got)
                    crlf = crlf[len(got) :]
                    if crlf:
                        break  # its LF is in a later call
                if pos == end:
                    break
                nl = find(_CRLF, pos)
                if nl < 0:
                    self._hold(data[pos:])
                    break
                if self._size(data[pos:nl]):
                    return data[pos:]
                left, pos = self._left, nl + 2
        finally:
            self._left, self._crlf = left, crlf
        return None

    def _complete_line(self, data: bytes) -> tuple[bytes, int] | None:
        """Finish the held size line: (the line, where `data` resumes), or None (still held)."""
        held = self._held
        if held[-1] == 0x0D and data[:1] == b"\n":
            return bytes(held[:-1]), 1
        nl = data.find(_CRLF)
        if nl < 0:
            self._hold(data)
            return None
        return bytes(held) + data[:nl], nl + 2

    def _hold(self, data: bytes) -> None:
        """Keep the start of a size line; refuse it once it is known to pass the limit."""
        held = self._held
        held += data
        size = len(held) - (held[-1] == 0x0D)  # a last CR may begin the CRLF
        if size > self.max_line_bytes:
            raise SizeLimitError("max_header_bytes", self.max_line_bytes, size)

    def _size(self, line: bytes) -> bool:
        """Read a complete size line (no CRLF) into `_left`; True for the last chunk (size 0)."""
        if len(line) > self.max_line_bytes:
            raise SizeLimitError("max_header_bytes", self.max_line_bytes, len(line))
        if 0 < len(line) <= 20 and not line.translate(None, _HEX_DIGITS):
            size = int(line, 16)  # hex digits alone: the usual case (int() alone takes "0x")
        else:
            match = _SIZE_LINE.fullmatch(line)
            if match is None:
                raise RemoteProtocolError(f"HTTP: illegal chunk header: {line[:100]!r}")
            size = int(match[1], 16)
        self._left = size
        return size == 0
