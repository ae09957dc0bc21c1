"""Server-Sent Events: bytes in any chunking -> `ServerSentEvent`, and back.

Layer: core, bottom (stdlib only). Rule: the WHATWG HTML "event stream
interpretation" (section 9.2.6) to the letter, incrementally, in time linear in
the bytes fed whatever the chunking, in memory bounded by two limits.

How it stays linear: each `feed()` finds the last line terminator in the new
bytes, decodes everything before it (plus the held partial line) once, and
splits it with C-level calls. The bytes after the last terminator are held in
one `bytearray`. A CR or LF never occurs inside a multi-byte UTF-8 sequence, so
decoding line by line with "replace" equals decoding the whole stream at once.
"""

from __future__ import annotations

from typing import NamedTuple

from ._deferred import ErrorGate
from ._errors import (
    EventTooLargeError,
    InvalidParameterError,
    LineTooLongError,
    SSEError,
    WireError,
)

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "DEFAULT_MAX_LINE_BYTES",
    "SSEDecoder",
    "ServerSentEvent",
    "encode_sse",
]

# 16 MiB each: a real API event is a few hundred bytes and the largest (a whole
# server-tool result block) well under 1 MiB, so these never trouble a real
# stream, while a hostile peer can make a decoder hold at most ~32 MiB
# (a line in progress plus an event's data).
DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"


class ServerSentEvent(NamedTuple):
    """One dispatched event (immutable; equal only to another `ServerSentEvent`).

    - `event`: the event type: the `event:` field, or "message" when none was given;
    - `data`: the data buffer: the `data:` lines joined with LF;
    - `id`: the last event ID in force when this event was dispatched;
    - `retry`: the reconnection time a valid `retry:` field set in this event's
      own block, else None (the time in force is `SSEDecoder.retry`).

    A named tuple rather than a dataclass because a decoder makes one per
    event and a tuple is built several times faster.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None

    def __eq__(self, other: object) -> bool:
        return type(other) is ServerSentEvent and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return tuple.__hash__(self)


# The hot path builds events with `tuple.__new__`, skipping the keyword
# constructor: the values are already checked (h11's `_parsed` bypass).
_tuple_new = tuple.__new__


def _event(event: str, data: str, id: str, retry: int | None) -> ServerSentEvent:
    sse: ServerSentEvent = _tuple_new(ServerSentEvent, (event, data, id, retry))
    return sse


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class SSEDecoder:
    """Incremental WHATWG event-stream parser: `feed(bytes) -> list[ServerSentEvent]`.

    `max_line_bytes` bounds one line, `max_event_bytes` one event's data buffer
    (in UTF-8 bytes); breaching either raises `LineTooLongError` /
    `EventTooLargeError` (both `SSEError`, a `RemoteProtocolError`) and leaves the
    decoder unusable. Invalid UTF-8 never raises: it decodes to U+FFFD.
    """

    def __init__(
        self,
        *,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        for name, value in (
            ("max_line_bytes", max_line_bytes),
            ("max_event_bytes", max_event_bytes),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidParameterError(name, "must be an int of at least 1")
        self.max_line_bytes = max_line_bytes
        self.max_event_bytes = max_event_bytes
        self.last_event_id = ""
        """The spec's "last event ID string", committed at each blank line."""
        self.retry: int | None = None
        """The reconnection time in force (ms), set by the last valid `retry:` field."""
        self._line = bytearray()  # bytes of the line in progress (no terminator)
        self._head = bytearray()  # the stream's first bytes, until the BOM question is settled
        self._started = False  # past the (optional) BOM
        self._skip_lf = False  # the last byte fed was a CR: an LF right after it is part of it
        self._gate = ErrorGate()  # a breach held for the next call; refusal once closed or failed
        # The event being built (the spec's buffers).
        self._data: list[str] = []
        self._data_chars = 0  # characters in the data buffer, one LF per line included
        self._data_bytes = 0  # its exact UTF-8 size, counted only near the limit...
        self._data_counted = 0  # ...for the first this many lines
        self._event_type = ""
        self._id_buffer = ""
        self._block_retry: int | None = None

    @property
    def pending(self) -> bool:
        """True while bytes or fields of an undispatched event are held.

        At end of stream the spec discards them; read this before or after
        `close()` to learn whether the stream ended mid-event.
        """
        return bool(
            self._line
            or self._head
            or self._data
            or self._event_type
            or self._id_buffer != self.last_event_id
            or self._block_retry is not None
        )

    @property
    def pending_error(self) -> WireError | None:
        """The limit breach the next `feed()` or `close()` will raise (found after events)."""
        return self._gate.pending

    def feed(self, data: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """Take the next bytes of the stream; return the events they complete.

        A limit breached after some events of the same bytes is raised by the
        next `feed()` or `close()`, so those events are never lost and errors
        come in stream order whatever the chunking.
        """
        if self._gate.refusal is not None:
            self._gate.check()
        if type(data) is not bytes:
            data = _as_bytes(data, "SSEDecoder.feed()")
        if self._skip_lf or not self._started:
            data = self._prelude(data)
        line = self._line
        if 10 not in data and 13 not in data:  # no LF, no CR (int tests are the fastest)
            self._grow(line, data)
            return []
        if not line and data[-1] == 0x0A and self._plain(data):  # a usual read of a stream
            return self._whole_lines(data)
        end = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        # Everything up to the last line end is decoded at once, straight from
        # the buffers (no joined copy); what follows is the next line in progress.
        view = memoryview(data)
        region: bytearray | memoryview
        if line:
            line += view[:end]
            region = line
        else:
            region = view[:end]
        rest = view[end:]
        # A line over the limit: the lines before it are still interpreted (their
        # events come first), then the breach is raised; nothing after it is kept.
        breach: SSEError | None = None
        if len(region) > self.max_line_bytes or len(rest) > self.max_line_bytes:
            breach, region = self._long_line(region, rest)
        if breach is not None:
            self._fail()
            rest = view[:0]
        elif len(region) >= _BIG_REGION:
            single: list[ServerSentEvent] = []
            if self._single_block(line if line else data, len(region), single):
                line.clear()
                line += rest
                return single
        self._skip_lf = not rest and len(region) > 0 and region[-1] == 0x0D  # CR, then LF?
        text = str(region, "utf-8", "replace")
        line.clear()
        line += rest
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        events: list[ServerSentEvent] = []
        try:
            self._parse(text, events)
        except SSEError as error:
            breach = error  # earlier in the stream than any long line found above
        if breach is not None:  # the events before the breach come first
            self._gate.fail(breach, bool(events), _FAILED)
        return events

    def close(self) -> None:
        """End of stream: per the spec an event without its blank line is discarded.

        Raises a limit breach that `feed()` deferred (see `feed`).
        """
        self._gate.close("SSEDecoder.feed() called after close()")

    # -- internals -----------------------------------------------------------

    def _plain(self, data: bytes) -> bool:
        """`data` (past the prelude, ending with LF, nothing held) has no CR, and no line
        of it can pass the limit: `_whole_lines` may take it."""
        return 13 not in data and len(data) <= self.max_line_bytes and len(data) < _BIG_REGION

    def _whole_lines(self, data: bytes) -> list[ServerSentEvent]:
        """`feed()` for `_plain` data: decoded and interpreted at once, nothing held after."""
        events: list[ServerSentEvent] = []
        try:
            self._parse(str(data, "utf-8", "replace"), events)
        except SSEError as error:
            self._gate.fail(error, bool(events), _FAILED)  # the events before it come first
        return events

    def _grow(self, line: bytearray, data: bytes) -> None:
        """Bytes without a line end: the line in progress grows, up to `max_line_bytes`."""
        if data:
            line += data
            if len(line) > self.max_line_bytes:
                self._fail()
                raise LineTooLongError("max_line_bytes", self.max_line_bytes, len(line))

    def _fail(self) -> None:
        self._gate.refusal = _FAILED

    def _prelude(self, data: bytes) -> bytes:
        """Drop a leading BOM (held until it is certain) and the LF of a CRLF split by chunks."""
        if not data:
            return data
        if not self._started:
            self._head += data
            head = bytes(self._head)
            if len(head) < 3 and _BOM.startswith(head):
                return b""
            self._started = True
            self._head.clear()
            data = head[3:] if head.startswith(_BOM) else head
        if self._skip_lf and data:
            self._skip_lf = False
            if data[0] == 0x0A:
                data = data[1:]
        return data

    def _long_line(
        self, region: bytearray | memoryview, rest: memoryview
    ) -> tuple[SSEError | None, bytearray | memoryview]:
        """The breach of the first line over the limit, and the complete lines before it.

        `region` holds complete lines, `rest` the line in progress after them.
        """
        if len(region) > self.max_line_bytes:
            long_line = self._first_long_line(bytes(region))
            if long_line is not None:
                at, size = long_line
                breach = LineTooLongError("max_line_bytes", self.max_line_bytes, size)
                return breach, memoryview(bytes(region)[:at])
        if len(rest) > self.max_line_bytes:
            return LineTooLongError("max_line_bytes", self.max_line_bytes, len(rest)), region
        return None, region

    def _first_long_line(self, region: bytes) -> tuple[int, int] | None:
        """(offset, length) of the first line of `region` over `max_line_bytes`, or None."""
        offset = 0
        for line in region.splitlines(keepends=True):
            size = len(line.rstrip(b"\r\n"))
            if size > self.max_line_bytes:
                return offset, size
            offset += len(line)
        return None

    def _parse(self, text: str, events: list[ServerSentEvent]) -> None:
        """Interpret complete lines (`text` ends with LF; only LF terminators) into `events`."""
        append = events.append
        blocks = text.split("\n\n")  # each but the last ends at a blank line
        tail = blocks.pop()
        dispatched = bool(blocks)
        if not blocks:
            pass
        elif not self._clean():
            # The first block finishes an event begun in an earlier feed.
            self._block(blocks[0], events)
            del blocks[0]
        # Every block now starts with no field pending (a dispatch resets them),
        # so the API's own shape, `event: NAME\ndata: JSON` (or a lone `data:`
        # line), can be dispatched at once, exactly as the general path would;
        # anything else takes the general path.
        short = self.max_event_bytes // 3  # shorter data cannot breach the limit
        event_id = self._id_buffer
        for block in blocks:
            head, found, data = block.partition("\ndata: ")
            if found:
                if head.startswith("event: ") and "\n" not in head and "\n" not in data:
                    if len(data) > short:
                        self._check_event_size(data)
                    event = head[7:] or "message"
                    append(_tuple_new(ServerSentEvent, (event, data, event_id, None)))
                    continue
            elif block.startswith("data: ") and "\n" not in block:
                data = block[6:]
                if len(data) > short:
                    self._check_event_size(data)
                append(_tuple_new(ServerSentEvent, ("message", data, event_id, None)))
                continue
            self._block(block, events)
            event_id = self._id_buffer
        if dispatched:
            self.last_event_id = self._id_buffer
        if tail:
            for line in tail[:-1].split("\n"):
                self._line_received(line, events)

    def _clean(self) -> bool:
        """No field of an undispatched event is pending."""
        return not self._data and not self._event_type and self._block_retry is None

    def _single_block(
        self, buf: bytes | bytearray, size: int, events: list[ServerSentEvent]
    ) -> bool:
        """Interpret `buf[:size]` in place if it is `[event: N LF] data: X LF LF`; else False.

        This is how one big event ends (its data line completes, then the
        blank line). Decoding the values straight from the bytes costs one
        string, not a decoded region, blocks and lines split out of it and the
        value sliced out of those. Field boundaries are ASCII, so decoding the
        pieces equals decoding the whole. Fields pending from earlier lines
        take part as usual.
        """
        end = size - 2
        if buf.find(b"\n\n", 0, size) != end or buf.find(b"\r", 0, size) >= 0:
            return False
        if buf.startswith(b"event: "):
            nl = buf.find(b"\n", 7, end)
            if nl < 0 or not buf.startswith(b"data: ", nl + 1) or buf.find(b"\n", nl + 1, end) >= 0:
                return False
            start = nl + 7
        elif buf.startswith(b"data: ") and buf.find(b"\n", 0, end) < 0:
            nl, start = -1, 6
        else:
            return False
        with memoryview(buf) as view:
            if nl > 0:
                self._event_type = str(view[7:nl], "utf-8", "replace")
            self._add_data(str(view[start:end], "utf-8", "replace"))
        self._dispatch(events)
        return True

    def _block(self, block: str, events: list[ServerSentEvent]) -> None:
        """The general path: every line of a block, then the blank line that ended it."""
        for line in block.split("\n"):
            self._line_received(line, events)
        self._dispatch(events)

    def _check_event_size(self, data: str) -> None:
        size = _utf8_size(data)
        if size > self.max_event_bytes:
            self._fail()
            raise EventTooLargeError("max_event_bytes", self.max_event_bytes, size)

    def _line_received(self, line: str, events: list[ServerSentEvent]) -> None:
        if not line:
            self._dispatch(events)
            return
        colon = line.find(":")
        if colon == 0:
            return  # a comment
        if colon < 0:
            name, value = line, ""
        else:
            name = line[:colon]
            value = line[colon + 2 :] if line.startswith(" ", colon + 1) else line[colon + 1 :]
        if name == "data":
            self._add_data(value)
        elif name == "event":
            self._event_type = value
        elif name == "id":
            if "\0" not in value:
                self._id_buffer = value
        elif name == "retry":
            retry = _parse_retry(value)
            if retry is not None:
                self.retry = retry
                self._block_retry = retry
        # Any other field name is ignored.

    def _add_data(self, value: str) -> None:
        """Append a `data:` value to the data buffer, within `max_event_bytes`.

        A character is at most 3 UTF-8 bytes here (U+FFFD included), so the
        exact size is only counted once the character count allows a breach,
        and each line is counted once: linear, and no encoding on the way.
        """
        self._data.append(value)
        self._data_chars += len(value) + 1
        if 3 * (self._data_chars - 1) > self.max_event_bytes:
            for part in self._data[self._data_counted :]:
                self._data_bytes += _utf8_size(part) + 1
            self._data_counted = len(self._data)
            if self._data_bytes - 1 > self.max_event_bytes:
                self._fail()
                raise EventTooLargeError(
                    "max_event_bytes", self.max_event_bytes, self._data_bytes - 1
                )

    def _dispatch(self, events: list[ServerSentEvent]) -> None:
        self.last_event_id = self._id_buffer
        retry, self._block_retry = self._block_retry, None
        if not self._data:
            self._event_type = ""
            return
        data = "\n".join(self._data)
        self._data = []
        self._data_chars = self._data_bytes = self._data_counted = 0
        event_type = self._event_type or "message"
        self._event_type = ""
        events.append(_event(event_type, data, self.last_event_id, retry))


_FAILED = "SSEDecoder.feed() called after a limit was breached"

# From this size on, a region that is one event block is read in place (see
# `_single_block`); below it, the general decode-and-split costs less.
_BIG_REGION = 1 << 16

# More digits than this cannot name a time anyone waits for; Python also refuses
# to convert (sys.int_info.default_max_str_digits). Such a field is ignored.
_MAX_RETRY_DIGITS = 4000


def _parse_retry(value: str) -> int | None:
    """The spec's rule: a value of ASCII digits only sets the reconnection time."""
    if not value or not value.isascii() or not value.isdigit():
        return None
    digits = value.lstrip("0") or "0"
    if len(digits) > _MAX_RETRY_DIGITS:
        return None
    return int(digits)


def encode_sse(
    data: str,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """Encode one event; `SSEDecoder` reads it back as the same values.

    Data containing CR, LF or CRLF becomes several `data:` lines (so every line
    break in `data` decodes as LF). `event` and `id` may not contain CR or LF
    (they would end the field), nor `id` a NUL (the decoder ignores such ids);
    `retry` must be a non-negative int; every text must be a `str` that UTF-8
    can encode (no lone surrogate). Anything else raises
    `InvalidParameterError` (a `ValueError`) naming the parameter.
    """
    parts: list[str] = []
    if event is not None:
        _check_field("event", event)
        parts.append(f"event: {event}\n" if event else "event\n")
    if id is not None:
        _check_field("id", id)
        if "\0" in id:
            raise InvalidParameterError("id", "may not contain NUL")
        parts.append(f"id: {id}\n" if id else "id\n")
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise InvalidParameterError("retry", "must be a non-negative int")
        parts.append(f"retry: {retry}\n")
    if not isinstance(data, str):
        raise InvalidParameterError("data", f"must be a str, not {type(data).__name__}")
    if "\r" in data:
        data = data.replace("\r\n", "\n").replace("\r", "\n")
    for line in data.split("\n"):
        parts.append(f"data: {line}\n")
    parts.append("\n")
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: find which parameter held it
        for name, value in (("event", event), ("id", id), ("data", data)):
            if value is not None and not _encodable(value):
                raise InvalidParameterError(name, "is not encodable as UTF-8") from None
        raise  # not reached: one of the three held it


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_bytes(data: object, where: str) -> bytes:
    """`data` as bytes, or `InvalidParameterError` saying what was fed and what to feed.

    Only non-`bytes` input comes here: `bytes(str)` would raise a bare
    `TypeError`, and `bytes(5)` would silently feed five NUL bytes.
    """
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    if isinstance(data, str):
        reason = (
            f"{where} takes the body's raw bytes, not str: feed the bytes as they came "
            "(httpx: response.iter_bytes(), not iter_text() or iter_lines()), "
            "or text.encode('utf-8')"
        )
    else:
        reason = f"{where} takes bytes, bytearray or memoryview, not {type(data).__name__}"
    raise InvalidParameterError("data", reason)


def _check_field(name: str, value: str) -> None:
    if not isinstance(value, str):
        raise InvalidParameterError(name, f"must be a str, not {type(value).__name__}")
    if "\r" in value or "\n" in value:
        raise InvalidParameterError(name, "may not contain CR or LF")
