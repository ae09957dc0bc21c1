"""`MessageStreamDecoder`: response body bytes -> typed events and the `Message`.

Layer: core, the top of the streaming stack: `SSEDecoder` + `parse_stream_event`
+ `MessageAccumulator` in one object, for whoever holds the bytes of a
`text/event-stream` response (a driver, a proxy, a test, a log replayer).
"""

from __future__ import annotations

from ._accumulate import DEFAULT_MAX_MESSAGE_BYTES, MessageAccumulator
from ._deferred import ErrorGate
from ._errors import IncompleteStreamError, WireError
from ._events import StreamError, StreamEvent, parse_stream_event
from ._message import Message
from ._sse import DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_LINE_BYTES, SSEDecoder, _as_bytes

__all__ = ["MessageStreamDecoder"]


class MessageStreamDecoder:
    """Feed the bytes of a Messages stream in any chunking; get typed events back.

    `feed()` returns the events the bytes completed, in order, pings and errors
    included, and applies them to `message`. It raises `RemoteProtocolError`
    subclasses for bad input (an `SSEError` for a breached limit, an
    `EventDecodeError` for an event that is not the promised JSON, an
    `InvalidToolInputError` for broken tool input); `message` keeps everything
    applied before the error. When the same bytes completed good events
    before the bad one, `feed()` returns those and the next `feed()` or
    `close()` raises, so no event is lost and errors come in stream order
    whatever the chunking. `close()` at end of stream raises
    `IncompleteStreamError` unless `message_stop` arrived.

    `max_message_bytes` (32 MiB by default) bounds what the message may hold
    (`MessageTooLargeError`; see `MessageAccumulator`).
    """

    def __init__(
        self,
        *,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self._sse = SSEDecoder(max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes)
        self._accumulator = MessageAccumulator(max_message_bytes=max_message_bytes)
        self._gate = ErrorGate()  # an error held for the next call; refusal once closed or failed
        # The first bytes, kept to name a common mistake if no message_start ever comes
        # (see `_misfed`); probing stops at the first line end once enough are kept.
        self._probing = True
        self._head = bytearray()
        self._line_end_seen = False

    @property
    def message(self) -> Message | None:
        """The message so far (None before `message_start`); final after `message_stop`."""
        return self._accumulator.message

    @property
    def done(self) -> bool:
        """True once `message_stop` arrived."""
        return self._accumulator.stopped

    @property
    def error(self) -> StreamError | None:
        """The stream's `error` event, if one arrived (`error.to_exception()` raises-ready)."""
        return self._accumulator.error

    @property
    def pending_error(self) -> WireError | None:
        """The error the next `feed()` or `close()` will raise, found after the events returned."""
        return self._gate.pending

    def feed(self, data: bytes | bytearray | memoryview) -> list[StreamEvent]:
        """Take the next bytes; return the typed events they complete."""
        gate = self._gate
        if gate.refusal is not None:
            gate.check()
        if type(data) is not bytes:
            data = _as_bytes(data, "MessageStreamDecoder.feed()")
        if self._probing:
            self._probe(data)
        events: list[StreamEvent] = []
        feed = self._accumulator.feed
        try:
            for sse in self._sse.feed(data):
                event = parse_stream_event(sse)
                events.append(event)
                feed(event)  # in stream order, so the first bad event is the one that raises
        except WireError as error:
            gate.fail(error, bool(events), _FAILED)  # the good events come first
            return events
        breach = self._sse.pending_error  # after the events just returned: known now
        if breach is not None:
            gate.hold(breach, _FAILED)
        return events

    def close(self) -> None:
        """End of stream: raises `IncompleteStreamError` (`.partial_message`) unless complete."""
        if not self._gate.close("MessageStreamDecoder.feed() called after close()"):
            return  # closed or failed already
        pending = self._sse.pending
        self._sse.close()
        if self._accumulator.stopped:
            return
        if self._accumulator.error is not None:
            reason = f"stream ended by an error event ({self._accumulator.error.error_type})"
        elif not self._accumulator.started:
            reason = "stream ended before message_start"
        else:
            reason = "stream ended before message_stop"
        misfed = "" if self._accumulator.started else self._misfed()
        if misfed:
            reason += misfed  # says more than "cut off" would
        elif pending:
            reason += "; an event was cut off mid-way"
        raise IncompleteStreamError(reason, self.message)

    def _probe(self, data: bytes) -> None:
        """Keep the first bytes and note a line end; stops once both are known."""
        if len(self._head) < _PROBE_BYTES:
            self._head += data[: _PROBE_BYTES - len(self._head)]
        if not self._line_end_seen and (10 in data or 13 in data):
            self._line_end_seen = True
        self._probing = len(self._head) < _PROBE_BYTES or not self._line_end_seen

    def _misfed(self) -> str:
        """What the bytes look like when no `message_start` came, and what to do instead.

        Such bytes are legal SSE (ignored lines), so the decoder cannot refuse
        them as they come; it names the likely mistake when the stream ends.
        """
        head = bytes(self._head)
        if not head:
            return "; no bytes were fed"
        if head.startswith(b"\x1f\x8b"):
            return (
                "; the bytes start with the gzip magic number (1f 8b): a compressed body. "
                "Feed the decoded body (httpx: response.iter_bytes(), not iter_raw())"
            )
        if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
            return (
                "; the bytes look like a JSON body, not an event stream: an error response "
                '(such as a 529\'s {"type":"error",...}) or a reply without "stream": true. '
                "Check the status first; wire.api_error(status, headers, body) turns an error "
                "body into its APIError"
            )
        if not self._line_end_seen:
            return (
                "; no line end ever arrived: were the lines stripped of their line ends "
                "(httpx: response.iter_lines())? Feed the raw bytes (response.iter_bytes())"
            )
        return ""


_FAILED = "MessageStreamDecoder.feed() called after an error"
# Enough of the stream's start to tell gzip, JSON and SSE apart.
_PROBE_BYTES = 16
