"""`ClientConnection`: the client side of one HTTP/1.1 connection to the API, sans-IO.

Layer: core, on top of h11 and the streaming stack. Rule: bytes in, typed
values out; no socket, no clock. Every h11 error is translated here, at the
one door peer bytes come through, into wire's `RemoteProtocolError` (or
`LocalProtocolError` for misuse), chained with `from`.

One response yields, in order: a `ResponseHead`; then body events chosen by
status and media type:

- 2xx `text/event-stream`: the typed stream events (`MessageStreamDecoder`);
- 2xx `application/json`: one `JSONBody` at the end;
- an error status (>= 400): one `ErrorResponse` whose `.error` is the
  `APIError` subclass the status and the envelope's `error.type` name;
- anything else (batch results JSONL): `BodyData` chunks;

then `ResponseComplete`. A stream that ends before `message_stop` yields a
`StreamIncomplete` event (after every event that did arrive) whose `.error` is
the `IncompleteStreamError` carrying the partial message: followed by
`ResponseComplete` when the HTTP body was complete, last when the connection
closed mid-body (the connection is then not reusable).

One error channel, as in wsproto: what the peer said (an error response, a
stream cut short) is a value event carrying the exception for the caller to
raise; only broken input (HTTP, SSE or event violations, a breached limit, a
non-stream body cut off: `IncompleteBodyError`) and misuse are raised.

h11 reads the status line and headers; a chunked body is de-chunked here
(`wire._framing`, h11's grammar at C speed, one piece per `receive_data()`
call), and h11 reads it again from the last chunk on: trailers, bytes after
the response, and whether the connection may be reused stay h11's to judge.
Content-length and read-to-close bodies are h11's throughout.

gzip (every member) and deflate bodies are decoded incrementally and
exactly (`wire._inflate`): the same bytes give the same events and error in
every chunking. Decompressed output is bounded per `receive_data()` call
(`max_decompressed_per_call`) and against the compressed bytes
(`max_decompression_ratio` past `decompression_ratio_floor`), raising
`DecompressionBombError`; a buffered body is also capped at `max_body_bytes`
(`BodyTooLargeError`).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import h11

from ._accumulate import DEFAULT_MAX_MESSAGE_BYTES
from ._deferred import ErrorGate
from ._errors import (
    APIError,
    BodyTooLargeError,
    IncompleteBodyError,
    IncompleteStreamError,
    InvalidParameterError,
    LocalProtocolError,
    RemoteProtocolError,
    SizeLimitError,
    WireError,
    build_api_error,
)
from ._events import StreamEvent
from ._framing import ChunkedDecoder
from ._inflate import (
    DEFAULT_DECOMPRESSION_RATIO_FLOOR,
    DEFAULT_MAX_DECOMPRESSED_PER_CALL,
    DEFAULT_MAX_DECOMPRESSION_RATIO,
    Inflater,
)
from ._message import Message
from ._ratelimit import RateLimits
from ._sse import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_LINE_BYTES
from ._stream import MessageStreamDecoder
from .builders import Request

__all__ = [
    "DEFAULT_DECOMPRESSION_RATIO_FLOOR",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_DECOMPRESSED_PER_CALL",
    "DEFAULT_MAX_DECOMPRESSION_RATIO",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_MAX_INFORMATIONAL_BYTES",
    "BodyData",
    "ClientConnection",
    "ConnectionState",
    "ErrorResponse",
    "JSONBody",
    "ResponseComplete",
    "ResponseEvent",
    "ResponseHead",
    "StreamIncomplete",
]

# A buffered (JSON or error) body: the largest real one is a Message of a few
# MiB (long outputs, big server-tool results). 32 MiB bounds a hostile peer.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
# The response head: the API's runs to ~2 KiB; h11's own default is 16 KiB.
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
# Interim (1xx) heads before one final head, together: real servers send one or two
# (100 Continue, 103 Early Hints). Unbounded, a storm of them would hold a caller
# for ever: each read returns at once, so no read deadline fires.
DEFAULT_MAX_INFORMATIONAL_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseHead:
    """Status line and headers of a response (header names lower-cased)."""

    status: int
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    request_id: str | None = None
    rate_limits: RateLimits = field(default_factory=RateLimits)

    def header(self, name: str) -> str | None:
        """The first value of header `name` (any case), or None."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def media_type(self) -> str:
        """The content type without parameters, lower-cased ("" when absent)."""
        value = self.header("content-type") or ""
        return value.split(";", 1)[0].strip().lower()


@dataclass(frozen=True, slots=True)
class JSONBody:
    """The parsed JSON body of a successful non-streaming response."""

    value: Any


@dataclass(frozen=True, slots=True)
class BodyData:
    """Body bytes (decompressed) of a response that is neither JSON nor SSE (e.g. JSONL), or
    of any response when the connection is `raw`."""

    data: bytes


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """The peer answered with an error status; `error` is the `APIError` to raise.

    Its class is the subclass the status and the envelope's `error.type` name.
    A value, not an exception, so that every event is returned and only
    broken input is raised (the peer did nothing wrong by answering 529).
    """

    error: APIError


@dataclass(frozen=True, slots=True)
class StreamIncomplete:
    """A streamed response ended before `message_stop`; `error` is the error to raise.

    Comes after every event that did arrive: when the HTTP body completed
    (then `ResponseComplete` follows) and when the connection closed mid-body
    (then nothing follows and the connection is not reusable).
    """

    error: IncompleteStreamError

    @property
    def partial_message(self) -> Message | None:
        """The `Message` built before the stream ended (None before `message_start`)."""
        return self.error.partial_message


@dataclass(frozen=True, slots=True)
class ResponseComplete:
    """The response ended; `reusable` says whether the connection can carry another request."""

    reusable: bool = True


ResponseEvent: TypeAlias = (
    ResponseHead
    | StreamEvent
    | JSONBody
    | BodyData
    | ErrorResponse
    | StreamIncomplete
    | ResponseComplete
)
"""Everything `ClientConnection.receive_data` returns: values only, never an exception."""


class _Body:
    """How one response body turns into events."""

    def __init__(
        self,
        head: ResponseHead,
        max_body_bytes: int,
        max_line_bytes: int,
        max_event_bytes: int,
        max_message_bytes: int,
        inflate_limits: dict[str, Any],
        raw: bool = False,
    ) -> None:
        self.head = head
        self.max_body_bytes = max_body_bytes
        self.size = 0
        encoding = (head.header("content-encoding") or "identity").strip().lower()
        if encoding in ("", "identity"):
            self.inflater: Inflater | None = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            name = "gzip" if encoding == "x-gzip" else encoding
            self.inflater = Inflater(name, **inflate_limits)
        else:
            raise RemoteProtocolError(f"unsupported content-encoding {encoding!r}")
        self.stream: MessageStreamDecoder | None = None
        self.buffer: bytearray | None = None
        if raw:
            pass  # every body as `BodyData`, whatever its status and type
        elif head.status >= 400:
            self.buffer = bytearray()
        elif head.media_type == "text/event-stream":
            self.stream = MessageStreamDecoder(
                max_line_bytes=max_line_bytes,
                max_event_bytes=max_event_bytes,
                max_message_bytes=max_message_bytes,
            )
        elif head.media_type == "application/json" or head.media_type.endswith("+json"):
            self.buffer = bytearray()

    def feed(self, data: bytes, events: list[ResponseEvent]) -> None:
        if self.inflater is None:
            self._decoded(data, events)
        else:
            self._inflated(self.inflater.feed(data), events)

    def finish(self, events: list[ResponseEvent]) -> None:
        if self.inflater is not None:
            self._inflated(self.inflater.finish(), events)
        if self.stream is not None:
            try:
                self.stream.close()
            except IncompleteStreamError as exc:
                events.append(StreamIncomplete(exc))  # after every event that did arrive
        elif self.buffer is not None:
            events.append(self._parse_buffer())

    def cut_off(self, reason: str, events: list[ResponseEvent]) -> None:
        """The connection closed mid-body: a `StreamIncomplete` event, else raise.

        An error the stream decoder found earlier in the body comes first (it
        is earlier in the stream); a buffered or raw body cut off raises
        `IncompleteBodyError` carrying the bytes.
        """
        if self.stream is None:
            raise IncompleteBodyError(reason, bytes(self.buffer or b""))
        pending = self.stream.pending_error
        if pending is not None:
            raise pending
        events.append(StreamIncomplete(IncompleteStreamError(reason, self.stream.message)))

    def _inflated(self, chunks: Iterator[bytes], events: list[ResponseEvent]) -> None:
        """Decode the inflater's output; its error comes after the output before it."""
        while True:
            try:
                chunk = next(chunks, None)
            except WireError:
                if self.stream is not None:
                    self.stream.feed(b"")  # an error the stream holds is earlier: it goes first
                raise
            if chunk is None:
                return
            self._decoded(chunk, events)

    def _decoded(self, data: bytes, events: list[ResponseEvent]) -> None:
        self.size += len(data)
        if self.stream is not None:
            events.extend(self.stream.feed(data))
        elif self.buffer is not None:
            if self.size > self.max_body_bytes:
                raise BodyTooLargeError("max_body_bytes", self.max_body_bytes, self.size)
            self.buffer.extend(data)
        elif data:
            events.append(BodyData(bytes(data)))

    def _parse_buffer(self) -> JSONBody | ErrorResponse:
        head = self.head
        raw = bytes(self.buffer or b"")
        try:
            value: Any = json.loads(raw) if raw.strip() else None
            parsed = raw.strip() != b""
        except (ValueError, RecursionError):
            value, parsed = None, False
        if head.status < 400:
            if not parsed:
                raise RemoteProtocolError(f"HTTP {head.status} JSON body is not valid JSON")
            return JSONBody(value)
        return ErrorResponse(_api_error(head, value if parsed else None, raw))


_FAILED = "this connection failed earlier; open a new one"
# One text wherever unasked-for bytes are seen, so every chunking gives the same error.
_UNASKED = "the peer sent data with no request pending"


def _api_error(head: ResponseHead, envelope: Any, raw: bytes) -> APIError:
    """The `APIError` for an error response: `wire.api_error`'s rules, the body parsed already.

    A body that is not the envelope (a proxy's HTML page) is summarised to one line.
    """
    return build_api_error(head.status, head.reason, head.headers, envelope, raw, head.request_id)


class ConnectionState(enum.Enum):
    """Where a `ClientConnection` stands (h11-style); computed, never stored apart.

    - `IDLE`: a request may be sent (a new connection, or the last response
      completed and the connection may be reused);
    - `AWAITING_RESPONSE`: a request was sent; no final response head yet
      (1xx informational responses keep it here);
    - `RECEIVING_BODY`: a response head arrived; its body is in progress;
    - `CLOSED`: no further request can use this connection, without any
      error: the response said `connection: close`, the peer closed, or a
      stream was cut off (its `StreamIncomplete` said so). Close the socket;
    - `FAILED`: the peer broke the protocol: the error was raised, or is
      `pending_error` and raised by the next call. Every use after that
      raises `LocalProtocolError`.
    """

    IDLE = "idle"
    AWAITING_RESPONSE = "awaiting response"
    RECEIVING_BODY = "receiving body"
    CLOSED = "closed"
    FAILED = "failed"


class ClientConnection:
    """The client side of one HTTP/1.1 connection: `send_request()` bytes, `receive_data()` events.

    `host` is the `Host` header value (with its port when not the default).
    One request at a time; `state` says what may happen next, and the next
    request may be sent on the same connection (keep-alive) while it is
    `IDLE` (`reusable`).

    Limits on decompressed (gzip/deflate) output, each raising
    `DecompressionBombError` naming it: `max_decompressed_per_call` (16 MiB)
    bytes per `receive_data()` call; past `decompression_ratio_floor` (8 MiB)
    of a body's output, at most `max_decompression_ratio` (100) times its
    compressed bytes. Real gzip of SSE and JSON runs 5-25x. A streamed
    message is bounded by `max_message_bytes` (32 MiB, `MessageTooLargeError`),
    its lines and events by `max_line_bytes` and `max_event_bytes` (16 MiB each),
    the response head and each chunk-size line by `max_header_bytes` (64 KiB),
    the 1xx heads before it together by `max_informational_bytes` (64 KiB), and
    a buffered body by `max_body_bytes` (32 MiB). docs/limits.md lists them all.
    """

    def __init__(
        self,
        host: str,
        *,
        accept_encoding: str | None = "gzip, deflate",
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_informational_bytes: int = DEFAULT_MAX_INFORMATIONAL_BYTES,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        max_decompressed_per_call: int = DEFAULT_MAX_DECOMPRESSED_PER_CALL,
        max_decompression_ratio: float = DEFAULT_MAX_DECOMPRESSION_RATIO,
        decompression_ratio_floor: int = DEFAULT_DECOMPRESSION_RATIO_FLOOR,
    ) -> None:
        if not isinstance(host, str):
            raise InvalidParameterError("host", f"must be a str, not {type(host).__name__}")
        if not host or not host.isascii() or any(c in host for c in "\r\n\0 /"):
            raise InvalidParameterError(
                "host", "must be an ASCII host[:port] (IDNA-encode a non-ASCII name)"
            )
        self.host = host
        self.accept_encoding = accept_encoding
        # Set True (between responses) to get every body as `BodyData` pieces, de-chunked
        # and decoded, whatever its status and media type: for proxies and recorders.
        self.raw = False
        self.max_body_bytes = max_body_bytes
        self.max_line_bytes = max_line_bytes
        self.max_event_bytes = max_event_bytes
        self.max_message_bytes = max_message_bytes
        self.max_decompressed_per_call = max_decompressed_per_call
        self.max_decompression_ratio = max_decompression_ratio
        self.decompression_ratio_floor = decompression_ratio_floor
        self.max_header_bytes = max_header_bytes
        self.max_informational_bytes = max_informational_bytes
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=max_header_bytes)
        self._heads = _HeadScanner(max_header_bytes)
        self._informational = 0  # bytes of 1xx heads before this response's final head
        # The state is h11's pair of states plus the gate (failed or not); the
        # body of the response in progress, or of the last one, is the only other field.
        self._gate = ErrorGate()  # an error held for the next call; refusal once failed
        self._body: _Body | None = None
        # A chunked body is de-chunked here, not by h11 (see `_dechunk`); h11 gets its end.
        self._chunked: ChunkedDecoder | None = None
        self._method = ""  # of the request in progress: h11 reads no body after HEAD

    @property
    def state(self) -> ConnectionState:
        """Where the connection stands (see `ConnectionState`)."""
        if self._gate.refusal is not None:
            return ConnectionState.FAILED
        ours, theirs = self._h11.our_state, self._h11.their_state
        if theirs is h11.SEND_BODY:
            return ConnectionState.RECEIVING_BODY
        if theirs is h11.SEND_RESPONSE and ours is h11.DONE:
            return ConnectionState.AWAITING_RESPONSE
        if ours is theirs and (ours is h11.IDLE or ours is h11.DONE):
            return ConnectionState.IDLE
        return ConnectionState.CLOSED

    @property
    def reusable(self) -> bool:
        """True when the connection may carry a new request now (`state` is `IDLE`)."""
        return self.state is ConnectionState.IDLE

    @property
    def pending_error(self) -> WireError | None:
        """The error the next `receive_data()` will raise, found after the events returned.

        Set at once when it is known, so a driver never reads (and waits) for
        an answer it already has.
        """
        return self._gate.pending

    @property
    def response(self) -> ResponseHead | None:
        """The head of the response in progress (or the last one)."""
        return None if self._body is None else self._body.head

    @property
    def stream_message(self) -> Message | None:
        """The `Message` the streamed response in progress (or the last one) has built so far."""
        stream = None if self._body is None else self._body.stream
        return None if stream is None else stream.message

    def send_request(self, request: Request) -> bytes:
        """The bytes of `request`: head and body. Raises `LocalProtocolError` if busy."""
        state = self.state
        if state is not ConnectionState.IDLE:
            raise LocalProtocolError(f"cannot send a request: the connection is {state.value}")
        h = self._h11
        if h.our_state is h11.DONE:
            h.start_next_cycle()
        _check_request(request)
        headers = [("host", self.host), *request.headers]
        if self.accept_encoding:
            headers.append(("accept-encoding", self.accept_encoding))
        if request.body or request.method in ("POST", "PUT", "PATCH"):
            headers.append(("content-length", str(len(request.body))))
        try:
            out = h.send(h11.Request(method=request.method, target=request.target, headers=headers))
            if request.body:
                out += h.send(h11.Data(data=request.body))
            out += h.send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            # h11's text may quote a header value, i.e. perhaps a key: say less, chain nothing.
            raise LocalProtocolError(
                "cannot send this request: a header name or value is not valid HTTP"
            ) from None
        self._body = None
        self._chunked = None
        self._method = request.method
        self._informational = 0
        return out or b""

    def receive_data(self, data: bytes) -> list[ResponseEvent]:
        """Take bytes from the peer (b"" at end of file); return the events they complete.

        Raises a `RemoteProtocolError` subclass when the peer breaks HTTP or a
        limit; the connection is then unusable (`LocalProtocolError` after).
        When the same bytes completed events before the error, those are
        returned first and the error is raised by the next call.
        """
        gate = self._gate
        if gate.refusal is not None:
            gate.check()
        chunked = self._chunked
        if chunked is None or not data:  # (mid chunked body, h11 waits in its body state)
            self._check_receive(data)
        events: list[ResponseEvent] = []
        body = self._body
        if body is not None and body.inflater is not None:
            body.inflater.new_call()  # the per-call decompression budget starts afresh
        try:
            if chunked is not None and data:
                self._dechunk(data, events)
            else:
                self._receive(data, events)
        except WireError as error:
            gate.fail(error, bool(events), _FAILED)  # the events before it are delivered first
            return events
        stream = None if self._body is None else self._body.stream
        if stream is not None and stream.pending_error is not None:
            gate.hold(stream.pending_error, _FAILED)  # known now: say so without more bytes
        return events

    def _check_receive(self, data: bytes) -> None:
        """Refuse bytes h11 cannot take now; fail on bytes nothing asked for."""
        their_state = self._h11.their_state
        if their_state is h11.ERROR:  # a stream cut off: nothing more can come
            raise LocalProtocolError("receive_data() called after the connection was cut off")
        if data and their_state is h11.CLOSED:  # misuse: the state stays as it is
            raise LocalProtocolError("receive_data() called with data after end of file")
        if data and self.state is ConnectionState.IDLE:
            # Before any request, or after a complete response: answering nothing asked
            # (kept, these bytes would answer the next request: a desync).
            self._gate.fail(RemoteProtocolError(_UNASKED), False, _FAILED)

    def _receive(self, data: bytes, events: list[ResponseEvent]) -> None:
        """Give h11 the bytes, a response head at a time: each head's size is checked."""
        view = memoryview(data)
        while view and self._h11.their_state is h11.SEND_RESPONSE:
            size = self._heads.scan(view)  # raises once a head passes max_header_bytes
            if size < 0:
                break  # the head continues in a later call
            self._give(bytes(view[:size]))
            view = view[size:]
            self._events(events, eof=False)
            if self._h11.their_state is h11.SEND_RESPONSE:  # a 1xx: the final head is to come
                self._informational += self._heads.last
                if self._informational > self.max_informational_bytes:
                    limit = self.max_informational_bytes
                    raise SizeLimitError("max_informational_bytes", limit, self._informational)
        if self._chunked is not None:
            if view or not data:
                self._dechunk(data if len(view) == len(data) else bytes(view), events)
        elif view or not data:
            self._give(bytes(view))
            self._events(events, eof=not data)

    def _dechunk(self, data: bytes, events: list[ResponseEvent]) -> None:
        """Decode chunked body bytes in wire; h11 reads the last chunk on, and any cut-off.

        h11 parsed the head, so it is in its body state, its buffer empty; from the
        last chunk's size line on it reads the rest as it always did (trailers, bytes
        after the response, reuse), and at end of file it is told what was held, so
        it names the cut-off exactly as if it had read every byte.
        """
        chunked = self._chunked
        assert chunked is not None
        assert self._body is not None
        if not data:  # end of file mid-body
            self._chunked = None
            self._give(chunked.held)
            self._give(b"")
            self._events(events, eof=True)
            return
        out, tail, error = chunked.feed(data)
        if out:
            self._body.feed(out, events)
        if error is not None:
            raise error
        if tail is not None:
            self._chunked = None
            self._give(tail)
            self._events(events, eof=False)

    def _give(self, data: bytes) -> None:
        try:
            self._h11.receive_data(data)
        except RuntimeError as exc:  # h11: bytes after end of file
            raise LocalProtocolError(f"cannot receive now: {exc}") from exc

    def _events(self, events: list[ResponseEvent], *, eof: bool) -> None:
        """Turn h11's events into ours until h11 needs more bytes."""
        h = self._h11
        body = self._body
        while True:
            theirs = h.their_state
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                if eof and theirs is h11.SEND_BODY and body is not None:
                    # At end of file h11's only news is the close: the body is cut off.
                    body.cut_off(f"the connection closed mid-body ({exc})", events)
                    return
                if eof and theirs is h11.SEND_RESPONSE:
                    raise RemoteProtocolError("the connection closed before a response") from exc
                raise RemoteProtocolError(f"HTTP: {exc}") from exc
            if event is h11.NEED_DATA:
                return
            if event is h11.PAUSED:
                if h.their_state is h11.DONE:  # bytes after a complete response
                    raise RemoteProtocolError(_UNASKED)
                return
            if isinstance(event, h11.Response):
                body = self._body = self._start(event)
                events.append(body.head)
                if self._is_chunked(body.head):
                    self._chunked = ChunkedDecoder(self.max_header_bytes)
                    return
            elif isinstance(event, h11.Data) and body is not None:
                body.feed(bytes(event.data), events)
            elif isinstance(event, h11.EndOfMessage):
                if body is not None:
                    body.finish(events)
                events.append(
                    ResponseComplete(reusable=h.our_state is h11.DONE and h.their_state is h11.DONE)
                )
            elif isinstance(event, h11.ConnectionClosed):
                if theirs is h11.SEND_BODY and body is not None:
                    body.cut_off("the connection closed mid-body", events)
                return
            # InformationalResponse (1xx) needs nothing.

    def _is_chunked(self, head: ResponseHead) -> bool:
        """Whether h11 would now read a chunked body (wire reads it instead).

        h11's own rule: no body after HEAD or CONNECT, nor with 204 or 304;
        otherwise `transfer-encoding` (h11 accepts `chunked` alone) beats
        `content-length`. Only while h11 holds no byte past the head, which is
        always so (heads are given to it exactly), so that no byte is skipped.
        """
        h = self._h11
        return (
            h.their_state is h11.SEND_BODY
            and self._method not in ("HEAD", "CONNECT")
            and head.status not in (204, 304)
            and head.header("transfer-encoding") is not None
            and not h.trailing_data[0]
        )

    def _start(self, response: h11.Response) -> _Body:
        """The body decoder for a final response head."""
        headers = tuple(
            (bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1"))
            for name, value in response.headers
        )
        head = ResponseHead(
            status=response.status_code,
            reason=bytes(response.reason).decode("latin-1"),
            headers=headers,
            request_id=_first(headers, "request-id") or _first(headers, "x-request-id"),
            rate_limits=RateLimits.from_headers(headers),
        )
        inflate_limits = {
            "max_per_call": self.max_decompressed_per_call,
            "max_ratio": self.max_decompression_ratio,
            "ratio_floor": self.decompression_ratio_floor,
        }
        return _Body(
            head,
            self.max_body_bytes,
            self.max_line_bytes,
            self.max_event_bytes,
            self.max_message_bytes,
            inflate_limits,
            self.raw,
        )


class _HeadScanner:
    """Finds where each response head ends, so `max_header_bytes` holds however it is cut.

    h11 bounds an incomplete head only: one arriving whole in one call would
    pass at any size. A head ends at its first blank line (LF, optional CR,
    LF, as h11 reads it); the bytes before it are counted across calls.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0  # bytes of the head in progress seen so far
        self.tail = b""  # its last two bytes: a blank line may straddle two calls
        self.last = 0  # the size of the last complete head

    def scan(self, data: memoryview) -> int:
        """How many bytes of `data` complete the head in progress (-1: none do)."""
        if self.size == 0 and data[0] < 0x21:
            return len(data)  # not a status line: h11 refuses it at once
        room = self.limit - self.size
        probe = self.tail + bytes(data[: room + 1])  # never more than the limit allows
        ends = [at + 2 for at in (probe.find(b"\n\n"),) if at >= 0]
        ends += [at + 3 for at in (probe.find(b"\n\r\n"),) if at >= 0]
        if not ends:
            self.size += len(data)
            if self.size > self.limit:
                raise SizeLimitError("max_header_bytes", self.limit, self.size)
            self.tail = probe[-2:]
            return -1
        used = min(ends) - len(self.tail)
        size = self.size + used
        if size > self.limit:
            raise SizeLimitError("max_header_bytes", self.limit, size)
        self.size, self.tail, self.last = 0, b"", size
        return used


def _check_request(request: Request) -> None:
    """Refuse what HTTP/1.1 cannot carry, naming it (never a value: it may be a key)."""
    _ascii(request.method, "method")
    _ascii(request.target, "target")
    for name, value in request.headers:
        _ascii(name, "a header name")
        _ascii(value, f"header {name}")
    if not isinstance(request.body, bytes | bytearray):
        raise InvalidParameterError("body", f"must be bytes, not {type(request.body).__name__}")


def _ascii(value: object, parameter: str) -> None:
    if isinstance(value, str | bytes) and value.isascii():
        return
    kind = type(value).__name__
    reason = "must be ASCII" if isinstance(value, str | bytes) else f"must be a str, not {kind}"
    raise InvalidParameterError(parameter, reason)


def _first(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None
