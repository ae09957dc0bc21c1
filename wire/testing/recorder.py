"""A recording reverse proxy: clients point their base URL here; every exchange goes
upstream and into a capture file (`wire record`).

Each client connection is read with h11 (server side, bounded like the emulator);
each request is forwarded with `wire.trio.Client.forward`, so TLS verification,
proxies from the environment and timeouts are the drivers' own, and never
retried (the recorder forwards faithfully: retrying is the client's business).
The answer streams back to the client as it arrives (chunked), while the
`CaptureWriter` stores the request, the response head and each read with its
time, redacting every key before it is written.

What is not forwarded: hop-by-hop headers (`connection` and the headers it
names, `keep-alive`, `te`, `trailer`, `transfer-encoding`, `upgrade`,
`proxy-connection`, `proxy-authorization`), `host`, `content-length`,
`expect` and `accept-encoding` (the upstream connection asks for gzip and
decodes it; the client gets the decoded body). A request the upstream never
answers gets a 502 with the API's error envelope; an answer cut off upstream
is cut off to the client too, and recorded as `complete: false`.

Layer: testing kit, on the trio driver.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import h11
import trio

from wire._connection import ResponseHead
from wire._errors import WireError
from wire._timeouts import Timeout
from wire.testing._http import MAX_HEAD_BYTES, error_envelope
from wire.testing.capture import FRAMING_HEADERS, CaptureLimitError, CaptureWriter, RedactionError
from wire.trio import Client

__all__ = ["CLIENT_TIMEOUT", "MAX_REQUEST_BYTES", "MAX_RESPONSE_BYTES", "Recorder", "record", "run"]

# The largest request body taken: the most a capture line holds in the reader's default
# `max_line_bytes` (64 MiB), written as base64 (4/3) with its head. The API's Messages
# limit (32 MB) fits; a larger batch cannot be recorded. A request head is bounded by h11
# at 64 KiB, as in the emulator.
MAX_REQUEST_BYTES = 40 * 1024 * 1024
# Seconds a client may leave the recorder waiting for the next bytes of a request (or,
# between requests, for a new one) before its connection is closed.
CLIENT_TIMEOUT = 60.0
# The most of one response body recorded and passed on (`max_response_bytes`): an upstream
# that never stops would otherwise fill the disk, and a capture past 256 MiB cannot be read
# with the reader's default limits. A Messages stream is far smaller.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_READ_SIZE = 64 * 1024
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        # Not hop-by-hop, but the upstream connection sets its own:
        "host",
        "content-length",
        "expect",
        "accept-encoding",
    }
)
_GONE = (trio.BrokenResourceError, trio.ClosedResourceError)


class _ClientGone(Exception):
    """The client closed its connection mid-answer."""


class _TooLong(Exception):
    """The response body passed `max_response_bytes`: recorded and passed on that far."""


class _Idle(Exception):
    """The client sent part of a request, then nothing for `client_timeout` seconds."""


def _forwarded(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The client's headers minus the hop-by-hop ones (and those `connection` names)."""
    named = {
        token.strip().lower()
        for name, value in headers
        if name == "connection"
        for token in value.split(",")
    }
    return [(k, v) for k, v in headers if k not in _HOP_BY_HOP and k not in named]


class Recorder:
    """Listens on `host:port`, forwards to `upstream`, records into `writer`.

    `on_exchange(line)` is told one line per finished exchange (`wire record`
    prints it). `ssl_context` verifies the upstream (default: the system's CAs);
    `timeout` and `proxy` are `wire.trio.Client`'s (upstream); `client_timeout`
    bounds each wait for a client's request bytes (408, then closed; an idle
    keep-alive connection is just closed). A response body is recorded and
    passed on up to `max_response_bytes`; there the exchange is cut off
    (recorded `complete: false`, the client's connection closed mid-body). A
    request the writer cannot record (a key it cannot redact, a line past the
    reader's limit, a full capture) is answered 400, 413 or 507 and not forwarded.
    """

    def __init__(
        self,
        upstream: str,
        writer: CaptureWriter,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout: Timeout | float | None = None,
        proxy: str | None = "env",
        ssl_context: ssl.SSLContext | None = None,
        on_exchange: Callable[[str], None] | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        client_timeout: float = CLIENT_TIMEOUT,
    ) -> None:
        if type(max_response_bytes) is not int or max_response_bytes < 0:
            raise ValueError("max_response_bytes: must be an integer >= 0")
        if type(client_timeout) not in (int, float) or not 0 < client_timeout < 1e9:
            raise ValueError("client_timeout: must be a number of seconds > 0")
        self.client_timeout = float(client_timeout)
        self.max_response_bytes = max_response_bytes
        self.upstream = upstream
        self.writer = writer
        self.host = host
        self.port = port
        self.on_exchange = on_exchange
        # The client sends each request's own headers (`forward`): this placeholder
        # key satisfies its constructor and is never sent.
        self._client_options: dict[str, Any] = {
            "api_key": "unused-by-forward",
            "base_url": upstream,
            "timeout": timeout,
            "max_retries": 0,
            "proxy": proxy,
            "ssl_context": ssl_context,
        }
        self._client: Client | None = None
        self.failures: list[Exception] = []  # bugs met (each ended one connection)
        self._cancel: trio.CancelScope | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def serve(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until cancelled (`task_status.started()` once listening)."""
        listeners = await trio.open_tcp_listeners(self.port, host=self.host)
        self.port = listeners[0].socket.getsockname()[1]
        self._token = trio.lowlevel.current_trio_token()
        async with Client(**self._client_options) as client:
            self._client = client
            with trio.CancelScope() as scope:
                self._cancel = scope
                async with trio.open_nursery() as nursery:
                    await nursery.start(trio.serve_listeners, self._handle, listeners)
                    self._ready.set()
                    task_status.started()

    def stop(self) -> None:
        """Stop serving (from any thread)."""
        if self._token is not None and self._cancel is not None:
            with contextlib.suppress(trio.RunFinishedError):
                self._token.run_sync_soon(self._cancel.cancel)

    # -- one client connection ---------------------------------------------------------

    async def _handle(self, stream: trio.SocketStream) -> None:
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        try:
            async with stream:
                while await self._one(connection, stream):
                    connection.start_next_cycle()
        except (*_GONE, _ClientGone):
            pass
        except Exception as exc:  # a bug: this connection ends, the others go on
            if len(self.failures) < 100:
                self.failures.append(exc)

    async def _one(self, connection: h11.Connection, stream: trio.SocketStream) -> bool:
        """Read one request and answer it; True when the connection may carry another."""
        try:
            got = await _read_request(connection, stream, self.client_timeout)
        except h11.RemoteProtocolError as exc:
            hint = exc.error_status_hint
            await _refuse(connection, stream, hint, "the request is not valid HTTP/1.1")
            return False
        except _TooLarge:
            message = f"wire record: the request body is over {MAX_REQUEST_BYTES} bytes"
            await _refuse(connection, stream, 413, message, "request_too_large")
            return False
        except _Idle:
            message = f"wire record: no request bytes for {self.client_timeout:g} s"
            await _refuse(connection, stream, 408, message, "timeout_error")
            return False
        if got is None:
            return False
        request, body = got
        await self._exchange(connection, stream, request, body)
        return connection.our_state is h11.DONE and connection.their_state is h11.DONE

    async def _exchange(
        self,
        connection: h11.Connection,
        stream: trio.SocketStream,
        request: h11.Request,
        body: bytes,
    ) -> None:
        """Forward one request, stream its answer back, record it all."""
        assert self._client is not None
        writer = self.writer
        method = request.method.decode("ascii", "replace")
        target = request.target.decode("latin-1")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers]
        id = writer.new_id()
        summary = _Summary(id, method, target)
        try:
            writer.request(id, time.time(), method, target, headers, body)
        except (RedactionError, CaptureLimitError) as exc:
            await self._unrecordable(connection, stream, summary, exc)
            return
        start = trio.current_time()
        try:
            pieces = self._client.forward(method, target, _forwarded(headers), body)
            async with contextlib.aclosing(pieces):
                async for arrived in pieces:
                    t = arrived.at - start
                    if isinstance(arrived.value, ResponseHead):
                        await self._head(connection, stream, id, t, arrived.value, summary)
                    else:
                        await self._data(connection, stream, id, t, arrived.value, summary)
            writer.end(id, trio.current_time() - start, complete=True)
            summary.finish(None, trio.current_time() - start)
            await _send(stream, connection.send(h11.EndOfMessage()))
        except (WireError, _ClientGone, _TooLong) as exc:
            reason = "the client closed the connection" if isinstance(exc, _ClientGone) else exc
            if isinstance(exc, _TooLong):
                reason = f"the response body passed max_response_bytes ({self.max_response_bytes})"
            text = f"{type(exc).__name__}: {reason}"
            writer.end(id, trio.current_time() - start, complete=False, error=text)
            summary.finish(text, trio.current_time() - start)
            if summary.status is None and not isinstance(exc, _ClientGone):
                full = isinstance(exc, CaptureLimitError)
                failed = "cannot record" if full else "upstream failed"
                await _refuse(connection, stream, 502, f"wire record: {failed}: {text}")
            raise _ClientGone from None  # cut off: the client sees what the recorder saw
        finally:
            if not summary.done:  # cancelled: the recorder is stopping
                writer.end(
                    id, trio.current_time() - start, complete=False, error="recorder stopped"
                )
                summary.finish("the recorder stopped", trio.current_time() - start)
            if self.on_exchange is not None:
                self.on_exchange(summary.line())

    async def _unrecordable(
        self,
        connection: h11.Connection,
        stream: trio.SocketStream,
        summary: _Summary,
        exc: RedactionError | CaptureLimitError,
    ) -> None:
        """A request the capture cannot hold: answered, not forwarded, not written."""
        if isinstance(exc, RedactionError):
            status, kind = 400, "invalid_request_error"
        elif exc.limit == "max_line_bytes":
            status, kind = 413, "request_too_large"
        else:
            status, kind = 507, "api_error"
        text = f"wire record: not forwarded, the capture cannot record it: {exc}"
        summary.status = status
        summary.finish(text, 0.0)
        if self.on_exchange is not None:
            self.on_exchange(summary.line())
        await _refuse(connection, stream, status, text, kind)

    async def _data(
        self,
        connection: h11.Connection,
        stream: trio.SocketStream,
        id: int,
        t: float,
        data: bytes,
        summary: _Summary,
    ) -> None:
        """One read: recorded and passed on, as far as `max_response_bytes` allows."""
        room = self.max_response_bytes - summary.size
        piece = data[:room]
        if piece or not data:
            self.writer.data(id, t, piece)
            summary.data(piece)
        if piece:
            await _send(stream, connection.send(h11.Data(data=piece)))
        if len(data) > room:
            raise _TooLong

    async def _head(
        self,
        connection: h11.Connection,
        stream: trio.SocketStream,
        id: int,
        t: float,
        head: ResponseHead,
        summary: _Summary,
    ) -> None:
        kept = [(k, v) for k, v in head.headers if k not in FRAMING_HEADERS]
        self.writer.response(id, t, head.status, head.reason, kept)
        summary.status = head.status
        response = h11.Response(
            status_code=head.status,
            headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in kept],
            reason=head.reason.encode("latin-1"),
        )
        await _send(stream, connection.send(response))


class _Summary:
    """The one line `on_exchange` gets."""

    def __init__(self, id: int, method: str, target: str) -> None:
        self.id, self.method, self.target = id, method, target.split("?", 1)[0]
        self.status: int | None = None
        self.reads = self.size = 0
        self.error: str | None = None
        self.seconds = 0.0
        self.done = False

    def data(self, data: bytes) -> None:
        self.reads += 1
        self.size += len(data)

    def finish(self, error: str | None, seconds: float) -> None:
        self.error, self.seconds, self.done = error, seconds, True

    def line(self) -> str:
        status = "no answer" if self.status is None else str(self.status)
        tail = "" if self.error is None else f"; incomplete: {self.error}"
        return (
            f"#{self.id} {self.method} {self.target} -> {status}, {self.reads} reads, "
            f"{self.size} bytes, {self.seconds:.3f} s{tail}"
        )


class _TooLarge(Exception):
    pass


async def _send(stream: trio.SocketStream, data: bytes | None) -> None:
    try:
        await stream.send_all(data or b"")
    except _GONE:
        raise _ClientGone from None


async def _read_request(
    connection: h11.Connection, stream: trio.SocketStream, timeout: float
) -> tuple[h11.Request, bytes] | None:
    """The next request and its body (bounded), or None when the client is done.

    Raises `_Idle` when a request has begun and no byte came for `timeout` seconds;
    a connection idle between requests that long is done (None).
    """
    request: h11.Request | None = None
    body = bytearray()
    begun = False
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = None
            with trio.move_on_after(timeout):
                try:
                    data = await stream.receive_some(_READ_SIZE)
                except _GONE:
                    return None
            if data is None:
                if begun or connection.trailing_data[0]:
                    raise _Idle
                return None
            begun = begun or bool(data)
            connection.receive_data(bytes(data))
        elif isinstance(event, h11.Request):
            request = event
            if connection.they_are_waiting_for_100_continue:
                continue_ = h11.InformationalResponse(status_code=100, headers=[])
                await _send(stream, connection.send(continue_))
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_REQUEST_BYTES:
                raise _TooLarge
        elif isinstance(event, h11.EndOfMessage):
            assert request is not None
            return request, bytes(body)
        else:  # ConnectionClosed, PAUSED
            return None


async def _refuse(
    connection: h11.Connection,
    stream: trio.SocketStream,
    status: int,
    message: str,
    error_type: str = "api_error",
) -> None:
    """Answer an error envelope and close (when a response can still be sent)."""
    if connection.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    body = error_envelope(error_type, message)
    headers = [
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        ("connection", "close"),
    ]
    with contextlib.suppress(h11.LocalProtocolError):
        data = connection.send(h11.Response(status_code=status, headers=headers))
        data = (data or b"") + (connection.send(h11.Data(data=body)) or b"")
        data += connection.send(h11.EndOfMessage()) or b""
        await _send(stream, data)


# --- running it -----------------------------------------------------------------------


@contextlib.contextmanager
def record(upstream: str, writer: CaptureWriter, **options: Any) -> Iterator[Recorder]:
    """Run a `Recorder` in a background thread for the `with` block (tests): `.base_url`.

    A failure inside it ends only the connection it met, and is raised when the
    block exits (the first of `recorder.failures`).
    """
    recorder = Recorder(upstream, writer, **options)

    def main() -> None:
        try:
            trio.run(recorder.serve)
        except BaseException as exc:  # reported to the waiting thread
            recorder._error = exc
            recorder._ready.set()

    thread = threading.Thread(target=main, name="wire-recorder", daemon=True)
    thread.start()
    if not recorder._ready.wait(timeout=30):
        raise RuntimeError("the recorder did not start within 30 s")
    if recorder._error is not None:
        raise RuntimeError(f"the recorder could not start: {recorder._error}") from recorder._error
    try:
        yield recorder
    finally:
        recorder.stop()
        thread.join(timeout=30)
    if recorder.failures:
        raise recorder.failures[0]


def run(
    upstream: str,
    writer: CaptureWriter,
    *,
    on_ready: Callable[[Recorder], None] | None = None,
    **options: Any,
) -> None:
    """Record in the foreground until interrupted; `on_ready(recorder)` once listening."""
    recorder = Recorder(upstream, writer, **options)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(recorder.serve)
            if on_ready is not None:
                on_ready(recorder)

    trio.run(main)
