"""Capture files: recorded HTTP exchanges as JSON Lines (`wire record` writes, replay reads).

A capture is UTF-8 JSON Lines, one object a line: a header line
(`{"type": "wire-capture", "version": 1, ...}`), then `request`, `response`,
`data` and `end` lines, each naming its exchange by `id` (exchanges may
interleave; the lines of one are in order). docs/capture.md pins the format.

- `CaptureWriter` writes one, redacting secrets before any byte is written and
  flushing every line, so a recorder killed mid-stream leaves a readable file.
- `read_capture(source)` reads one back into `Exchange` values (`load_capture`
  also gives the header). Bad input raises `CaptureError` naming the line,
  never another exception; `max_line_bytes` and `max_capture_bytes` bound
  what a file can make it hold (`CaptureLimitError`).
- `wire.testing.har.to_har(capture)` turns one into an HTTP Archive 1.2 log.

Layer: testing kit; standard library only (no socket, no event loop).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from wire._errors import WireError
from wire.testing._redact import MAX_SECRET_BYTES, MAX_SECRETS, Redactor, masked, merge

__all__ = [
    "DEFAULT_MAX_CAPTURE_BYTES",
    "DEFAULT_MAX_LINE_BYTES",
    "FRAMING_HEADERS",
    "MAX_SECRETS",
    "MAX_SECRET_BYTES",
    "REDACTED",
    "SECRET_HEADERS",
    "VERSION",
    "Capture",
    "CaptureError",
    "CaptureLimitError",
    "CaptureWriter",
    "CapturedRequest",
    "CapturedResponse",
    "End",
    "Exchange",
    "Read",
    "RedactionError",
    "load_capture",
    "read_capture",
]

#: The format version this module writes and the newest it reads.
VERSION = 1
#: What a secret becomes.
REDACTED = "[redacted]"
_REDACTED_BYTES = REDACTED.encode()
#: Headers whose values are never stored.
SECRET_HEADERS = frozenset(
    {"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie"}
)
#: Response headers a capture leaves out: its bodies are stored de-framed and decoded.
FRAMING_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive"}
)
# One line holds one read (at most wire's 16 MiB of decoded output per read) or one
# request body (the API takes up to 32 MB, 256 MB for a batch; JSON escaping can double
# it). 64 MiB holds every Messages exchange; batch-sized bodies need a larger limit.
DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024
# The whole file is read into memory: 256 MiB bounds what a capture can make a reader hold.
DEFAULT_MAX_CAPTURE_BYTES = 256 * 1024 * 1024
# The room a writer keeps for each open exchange's `end` line (its error cut to 256 characters).
_END_LINE_BYTES = 2048
_MAX_ERROR = 256

Headers = tuple[tuple[str, str], ...]


class CaptureError(WireError, ValueError):
    """A capture file is not one this module can read; `line` is its 1-based number (0: none)."""

    def __init__(self, reason: str, line: int = 0) -> None:
        self.reason = reason
        self.line = line
        super().__init__(f"capture line {line}: {reason}" if line else f"capture: {reason}")


class CaptureLimitError(CaptureError):
    """A capture passed `limit` (`max_line_bytes` or `max_capture_bytes`): `size` bytes or more."""

    def __init__(self, limit: str, value: int, size: int, line: int) -> None:
        self.limit = limit
        self.value = value
        self.size = size
        super().__init__(f"{limit} ({value} bytes) exceeded: {size} bytes or more", line)


# --- values -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CapturedRequest:
    """A request as the client sent it (secrets redacted): `target` is path and query."""

    method: str
    target: str
    headers: Headers = ()
    body: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class CapturedResponse:
    """The response head; `t` is seconds after the request went upstream."""

    t: float
    status: int
    reason: str = ""
    headers: Headers = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Read:
    """One read of the response body (de-chunked, decoded) and when it arrived."""

    t: float
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class End:
    """How the exchange ended: `complete`, or not with `error` (one line)."""

    t: float
    complete: bool
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """One recorded exchange. `response` is None when no head came; `end` is None when the
    file stops before it (the recorder was killed)."""

    id: int
    at: float
    request: CapturedRequest
    response: CapturedResponse | None = None
    reads: tuple[Read, ...] = ()
    end: End | None = None

    @property
    def body(self) -> bytes:
        """The response body: every read, joined."""
        return b"".join(read.data for read in self.reads)


@dataclass(frozen=True, slots=True, kw_only=True)
class Capture:
    """A capture file's header values and its exchanges, in the order their requests came."""

    version: int
    created: str
    upstream: str
    exchanges: tuple[Exchange, ...] = field(default=())


# --- writing ------------------------------------------------------------------------------


def _text_or_base64(key: str, data: bytes) -> dict[str, str]:
    try:
        return {key: data.decode("utf-8")}
    except UnicodeDecodeError:
        return {f"{key}_base64": base64.b64encode(data).decode("ascii")}


class RedactionError(WireError, ValueError):
    """A secret a `CaptureWriter` cannot track: longer than `MAX_SECRET_BYTES`, or one past
    `MAX_SECRETS`. The line that carried it was not written (nor anything after it)."""


class _Held:
    """The body pieces of one exchange not yet written: their bytes, and what to mask."""

    __slots__ = ("data", "pieces", "scanned", "spans")

    def __init__(self) -> None:
        self.data = bytearray()
        self.pieces: list[tuple[float, int]] = []  # (t, size)
        self.spans: list[tuple[int, int]] = []  # secrets found in `data`
        self.scanned = 0  # how much of `data` was searched for whole secrets


class CaptureWriter:
    """Writes a capture to a binary file, one flushed line per call; redacts as it writes.

    Secrets are the values of `SECRET_HEADERS` (always replaced by `REDACTED`),
    plus every value in `secrets` and each key a request carries (`x-api-key`,
    the credentials of `authorization` and `proxy-authorization`), which are
    replaced wherever else they occur (header values, targets, bodies), also
    percent-encoded, `+`-encoded or JSON-escaped, any characters of them so
    (wire.testing._redact). A body piece whose end could begin a secret is held
    until the next piece (or the end) shows it does not, so a key split across
    two reads is still caught. At most `MAX_SECRETS` secrets of at most
    `MAX_SECRET_BYTES` are tracked: a request carrying one more raises
    `RedactionError` and nothing of it is written.

    Every line is one the reader takes with its default limits: a body too long
    as text is written as base64, a read too long even so is split; a line that
    would pass `max_line_bytes`, or take the file past `max_capture_bytes`, raises
    `CaptureLimitError` and is not written (room for each open exchange's `end`
    line is kept). Not thread-safe: one task or thread writes.
    """

    def __init__(
        self,
        file: IO[bytes],
        *,
        upstream: str,
        secrets: Iterable[str] = (),
        created: datetime | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_capture_bytes: int = DEFAULT_MAX_CAPTURE_BYTES,
    ) -> None:
        self._file = file
        self.max_line_bytes = max_line_bytes
        self.max_capture_bytes = max_capture_bytes
        self.size = 0  # bytes written
        self._redactor = Redactor(_REDACTED_BYTES)
        for secret in secrets:
            self._learn(secret)
        self._held: dict[int, _Held] = {}
        self._open: set[int] = set()  # exchanges with a request line and no end line
        self._next_id = 0
        when = created or datetime.now(UTC)
        self._line(
            {
                "type": "wire-capture",
                "version": VERSION,
                "created": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "upstream": self._redact_text(upstream),
            }
        )

    @classmethod
    def create(
        cls, path: str | os.PathLike[str], *, upstream: str, **options: Any
    ) -> CaptureWriter:
        """A writer to a new file at `path` (replaced if it exists); `close()` closes it."""
        file = open(path, "wb")  # noqa: SIM115 (the writer owns it: close() closes it)
        try:
            return cls(file, upstream=upstream, **options)
        except BaseException:
            file.close()
            raise

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def new_id(self) -> int:
        """The next exchange id (1, 2, ...)."""
        self._next_id += 1
        return self._next_id

    def request(
        self,
        id: int,
        at: float,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes = b"",
    ) -> None:
        """The request line: `at` in epoch seconds; learns the keys it carries first.

        Raises `RedactionError` (a key it cannot track) or `CaptureLimitError` (the line
        is too long, or the file full) and writes nothing.
        """
        headers = list(headers)
        for name, value in headers:
            self._learn_header(name.lower(), value)
        line: dict[str, Any] = {
            "type": "request",
            "id": id,
            "at": at,
            "method": method,
            "target": self._redact_text(target),
            "headers": self._headers(headers),
        }
        line.update(_text_or_base64("body", self._redactor.redact(body)))
        self._line(line, opens=id)

    def response(
        self, id: int, t: float, status: int, reason: str, headers: Iterable[tuple[str, str]]
    ) -> None:
        """The response head (pass the headers without `FRAMING_HEADERS`)."""
        self._line(
            {
                "type": "response",
                "id": id,
                "t": t,
                "status": status,
                "reason": self._redact_text(reason),
                "headers": self._headers(headers),
            }
        )

    def data(self, id: int, t: float, data: bytes) -> None:
        """One read of the body; written now, or with the next piece if it may split a key."""
        held = self._held.setdefault(id, _Held())
        held.pieces.append((t, len(data)))
        held.data += data
        self._flush_held(id, final=False)

    def end(self, id: int, t: float, *, complete: bool, error: str | None = None) -> None:
        """The exchange's end: `complete`, or not with a one-line `error` (at most 256
        characters). Always written: room for it was kept."""
        try:
            self._flush_held(id, final=True)
        except CaptureLimitError as exc:  # the held reads did not fit: the end says so
            self._held.pop(id, None)
            complete, error = False, error or str(exc)
        line: dict[str, Any] = {"type": "end", "id": id, "t": t, "complete": complete}
        if not complete:
            text = " ".join((error or "unknown").split())
            line["error"] = self._redact_text(text)[:_MAX_ERROR]
        self._open.discard(id)
        self._line(line, ends=True)

    # -- redaction -------------------------------------------------------------------------

    def _learn(self, secret: str) -> None:
        if not self._redactor.learn(secret):
            raise RedactionError(
                f"a key this capture cannot redact: keys are tracked up to {MAX_SECRET_BYTES}"
                f" bytes long, at most {MAX_SECRETS} of them per capture, none part of {REDACTED}"
            )

    def _learn_header(self, name: str, value: str) -> None:
        if name == "x-api-key":
            self._learn(value)
        elif name in ("authorization", "proxy-authorization"):
            scheme, _, credentials = value.strip().partition(" ")
            self._learn(credentials if credentials.strip() else scheme)

    def _headers(self, headers: Iterable[tuple[str, str]]) -> list[list[str]]:
        return [
            [name, REDACTED if name.lower() in SECRET_HEADERS else self._redact_text(value)]
            for name, value in headers
        ]

    def _redact_text(self, text: str) -> str:
        data = text.encode("utf-8", "surrogatepass")
        redacted = self._redactor.redact(data)
        return text if redacted is data else redacted.decode("utf-8", "replace")

    def _flush_held(self, id: int, *, final: bool) -> None:
        """Write the held pieces of exchange `id` that no secret can reach into any more.

        Only the bytes not searched yet (and a secret's width before them) are searched,
        so a piece held across many small reads costs no more than once.
        """
        held = self._held.get(id)
        if held is None:
            return
        redactor = self._redactor
        data = held.data
        start = max(0, held.scanned - redactor.window)
        found = redactor.spans(bytes(data[start:]))
        held.spans = merge(held.spans + [(s + start, e + start) for s, e in found])
        held.scanned = len(data)
        cut = len(data)
        if not final:
            cut -= redactor.open_tail(bytes(data[-redactor.window :]) if redactor.window else b"")
        whole = bytes(data[:cut])
        offset = count = 0
        try:
            for t, size in held.pieces:
                if offset + size > cut:
                    break
                piece = masked(whole, held.spans, offset, offset + size, _REDACTED_BYTES)
                if len(piece) != size or piece != whole[offset : offset + size]:  # masked: check
                    piece = redactor.redact(piece)
                self._data_line(id, t, piece)
                offset += size
                count += 1
        finally:
            del held.pieces[:count]
            del data[:offset]
            held.spans = [(max(0, s - offset), e - offset) for s, e in held.spans if e > offset]
            held.scanned -= offset
            if not held.pieces:
                del self._held[id]

    def _data_line(self, id: int, t: float, piece: bytes) -> None:
        """One `data` line, or several (same `t`) if one would pass `max_line_bytes`."""
        line: dict[str, Any] = {"type": "data", "id": id, "t": t}
        line.update(_text_or_base64("data", piece))
        try:
            self._line(line)
        except CaptureLimitError as exc:
            if exc.limit != "max_line_bytes" or len(piece) < 2:
                raise
            half = len(piece) // 2
            self._data_line(id, t, piece[:half])
            self._data_line(id, t, piece[half:])

    # -- lines -----------------------------------------------------------------------------

    def _encode(self, value: dict[str, Any]) -> bytes:
        try:
            return json.dumps(value, ensure_ascii=False, allow_nan=False).encode() + b"\n"
        except UnicodeEncodeError:  # a lone surrogate: escaped, so the line stays UTF-8
            return json.dumps(value, allow_nan=False).encode() + b"\n"

    def _line(self, value: dict[str, Any], *, opens: int | None = None, ends: bool = False) -> None:
        data = self._encode(value)
        if len(data) - 1 > self.max_line_bytes:
            for key in ("body", "data"):  # escaped text can take 6 bytes a byte; base64 4/3
                if isinstance(value.get(key), str):
                    raw = value.pop(key).encode("utf-8", "surrogatepass")
                    value[f"{key}_base64"] = base64.b64encode(raw).decode("ascii")
                    data = self._encode(value)
        if len(data) - 1 > self.max_line_bytes:
            raise CaptureLimitError("max_line_bytes", self.max_line_bytes, len(data) - 1, 0)
        if not ends:
            ends_to_come = len(self._open) + (opens is not None)
            if self.size + len(data) > self.max_capture_bytes - _END_LINE_BYTES * ends_to_come:
                raise CaptureLimitError(
                    "max_capture_bytes", self.max_capture_bytes, self.size + len(data), 0
                )
        self._file.write(data)
        self._file.flush()
        self.size += len(data)
        if opens is not None:
            self._open.add(opens)


# --- reading ------------------------------------------------------------------------------


class _Builder:
    """One exchange as its lines arrive."""

    def __init__(self, id: int, at: float, request: CapturedRequest) -> None:
        self.id, self.at, self.request = id, at, request
        self.response: CapturedResponse | None = None
        self.reads: list[Read] = []
        self.end: End | None = None

    def build(self) -> Exchange:
        return Exchange(
            id=self.id,
            at=self.at,
            request=self.request,
            response=self.response,
            reads=tuple(self.reads),
            end=self.end,
        )


def _lines(source: IO[bytes], max_line: int, max_total: int) -> Iterator[tuple[int, bytes]]:
    total = 0
    number = 0
    while True:
        line = source.readline(max_line + 2)
        if not line:
            return
        number += 1
        total += len(line)
        if total > max_total:
            raise CaptureLimitError("max_capture_bytes", max_total, total, number)
        content = line[:-1] if line.endswith(b"\n") else line
        if len(content.rstrip(b"\r")) > max_line:
            raise CaptureLimitError("max_line_bytes", max_line, len(content), number)
        yield number, content


class _Reader:
    def __init__(self) -> None:
        self.header: dict[str, Any] | None = None
        self.exchanges: dict[int, _Builder] = {}

    def line(self, number: int, raw: bytes) -> None:
        if not raw.strip():
            return
        try:
            value = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise CaptureError("not a JSON object in UTF-8", number) from None
        if not isinstance(value, dict):
            raise CaptureError("not a JSON object", number)
        kind = value.get("type")
        if self.header is None:
            self._header(value)
            return
        if kind == "request":
            self._request(value)
        elif kind in ("response", "data", "end"):
            self._continue(kind, value)
        elif kind == "wire-capture":
            raise CaptureError("a second header line")
        # another type: a later version's line; skipped

    def _header(self, value: dict[str, Any]) -> None:
        if value.get("type") != "wire-capture":
            raise CaptureError("the first line is not a wire capture header")
        version = _field(value, "version", int)
        if version < 1 or version > VERSION:
            raise CaptureError(f"version {version} is not one this wire reads (1 to {VERSION})")
        self.header = value

    def _request(self, value: dict[str, Any]) -> None:
        id = _field(value, "id", int)
        if id in self.exchanges:
            raise CaptureError(f"a second request line for exchange {id}")
        request = CapturedRequest(
            method=_field(value, "method", str),
            target=_field(value, "target", str),
            headers=_headers(value),
            body=_body(value, "body"),
        )
        self.exchanges[id] = _Builder(id, _time(value, "at"), request)

    def _continue(self, kind: str, value: dict[str, Any]) -> None:
        id = _field(value, "id", int)
        exchange = self.exchanges.get(id)
        if exchange is None:
            raise CaptureError(f"{_a(kind)} line for exchange {id}, before its request")
        if exchange.end is not None:
            raise CaptureError(f"{_a(kind)} line for exchange {id}, after its end")
        t = _time(value, "t")
        if kind == "response":
            if exchange.response is not None:
                raise CaptureError(f"a second response line for exchange {id}")
            status = _field(value, "status", int)
            if not 200 <= status <= 999:  # what HTTP/1.1 (and a replay) can answer with
                raise CaptureError(f"'status' {status} is not a final HTTP status (200 to 999)")
            exchange.response = CapturedResponse(
                t=t,
                status=status,
                reason=_field(value, "reason", str, ""),
                headers=_headers(value),
            )
        elif kind == "data":
            if exchange.response is None:
                raise CaptureError(f"a data line for exchange {id}, before its response")
            exchange.reads.append(Read(t=t, data=_body(value, "data")))
        else:
            complete = _field(value, "complete", bool)
            error = None if complete else _field(value, "error", str, "")
            exchange.end = End(t=t, complete=complete, error=error)


def _a(kind: str) -> str:
    """'a data', 'an end'."""
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _field(value: dict[str, Any], key: str, kind: type, default: Any = None) -> Any:
    """`value[key]`, which must be exactly of `kind` (no bool for int)."""
    item = value.get(key, default)
    if type(item) is not kind:
        if item is None:
            raise CaptureError(f"no {key!r}")
        raise CaptureError(f"{key!r} is not a {kind.__name__}")
    return item


def _time(value: dict[str, Any], key: str) -> float:
    """`at` (epoch seconds): any finite number; `t` (seconds after `at`): also >= 0."""
    item: Any = value.get(key)
    try:
        number = float(item) if type(item) in (int, float) else math.nan
    except OverflowError:  # an int past a double's range
        number = math.nan
    if not math.isfinite(number) or (key == "t" and number < 0):
        raise CaptureError(f"{key!r} is not a finite number" + " >= 0" * (key == "t"))
    return number


def _headers(value: dict[str, Any]) -> Headers:
    items = value.get("headers", [])
    if not isinstance(items, list) or not all(
        isinstance(pair, list) and len(pair) == 2 and all(type(s) is str for s in pair)
        for pair in items
    ):
        raise CaptureError("'headers' is not a list of [name, value] strings")
    return tuple((name, text) for name, text in items)


def _body(value: dict[str, Any], key: str) -> bytes:
    text, encoded = value.get(key), value.get(f"{key}_base64")
    if type(text) is str and encoded is None:
        return text.encode("utf-8", "surrogatepass")
    if type(encoded) is str and text is None:
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise CaptureError(f"'{key}_base64' is not base64") from None
    raise CaptureError(f"needs one of {key!r} (a string) or '{key}_base64'")


def load_capture(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    max_capture_bytes: int = DEFAULT_MAX_CAPTURE_BYTES,
) -> Capture:
    """Read a capture (a path, or a binary file open for reading): its header and exchanges.

    Raises `CaptureError` (a line that is not JSON, a missing or mistyped field, lines
    out of order, a first line that is not the header, a newer version) naming the
    line, `CaptureLimitError` past a limit, `OSError` if the path cannot be read.
    Blank lines, unknown keys and lines of unknown types are skipped.
    """
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as file:
            return load_capture(
                file, max_line_bytes=max_line_bytes, max_capture_bytes=max_capture_bytes
            )
    reader = _Reader()
    number = 0
    for number, raw in _lines(source, max_line_bytes, max_capture_bytes):
        try:
            reader.line(number, raw)
        except CaptureError as exc:
            if exc.line:
                raise
            raise CaptureError(exc.reason, number) from None
    header = reader.header
    if header is None:
        raise CaptureError("empty: no wire capture header", number)
    return Capture(
        version=header["version"],
        created=str(header.get("created", "")),
        upstream=str(header.get("upstream", "")),
        exchanges=tuple(builder.build() for builder in reader.exchanges.values()),
    )


def read_capture(
    source: str | os.PathLike[str] | IO[bytes],
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    max_capture_bytes: int = DEFAULT_MAX_CAPTURE_BYTES,
) -> list[Exchange]:
    """The exchanges of a capture, in the order of their request lines (see `load_capture`)."""
    capture = load_capture(
        source, max_line_bytes=max_line_bytes, max_capture_bytes=max_capture_bytes
    )
    return list(capture.exchanges)
