"""The call loop, sans-IO: one `Call` object per API call owns every decision in its life.

Layer: core (stdlib, h11 and wire's core; no socket, ssl, clock, thread or
event loop). Rule: a driver only carries out the actions a `Call` names and
reports back what happened, with the time; every rule (which connection,
which proxy, the bytes, the limiter's wait, retries and their delays, each
deadline and which one fired, what becomes of the connection) lives here, so
it is tested on a fake clock with no sockets.

A `Session` holds what the calls of one client share: settings from the
constructor and the environment (passed in), the `RetryPolicy`, an optional
`Limiter`, and the `Pool` of idle connections, the last two guarded by the
`lock` the driver gives (a `threading.Lock` for threads; none for the tasks
of one event loop, which touch them only between awaits).
`session.create_message(...)` and the other endpoint methods return a
`Call`. The loop a driver runs (`now` is its monotonic clock):

    action = call.start(now)
    while True:
        Connect(host, port, deadline)      -> open TCP; call.connected(handle, now)
        StartTLS(handle, hostname, deadline) -> TLS over it; call.connected(new_handle, now)
        Send(handle, data, deadline)       -> send all of it; call.next(now)
        Receive(handle, deadline)          -> some bytes (b"" at EOF); call.received(data, now)
        Sleep(until)                       -> sleep until then; call.next(now)
        Deliver(items)                     -> hand them over, iterating once; call.next(now)
        Close(handle)                      -> close it (never fails); call.next(now)
        Return(value) / Raise(error)       -> the call's outcome: stop

An I/O failure is reported with `call.failed(exc, now)`, a deadline that
passed with `call.timed_out(now)`; both return the next action like the
others. A deadline is a clock value (None: no limit). A caller who leaves
early (an exception, KeyboardInterrupt, a cancelled task, a stream left
unread) calls `call.abort()`, which returns the handles to close: a
connection goes back to the pool only when its response completed and it is
reusable, never half-read.

Deadlines (`Timeout`): `connect` bounds opening a connection (TCP, the proxy
tunnel and TLS together); `read` each single send or receive; in a stream,
`idle` the gap between two events (pings count) and `stall` the gap between
two content events (pings do not), both counted from the response head;
`total` the whole call, retries and waits included. Each action carries the
earliest one in force, and a timeout raises `APITimeoutError` whose
`.timeout` names it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, Literal, TypeAlias, TypeVar
from urllib.parse import urlsplit

from . import builders as builders
from ._accumulate import MessageAccumulator
from ._batches import DeletedMessageBatch, JSONLDecoder, MessageBatch, Model, Page
from ._connection import (
    BodyData,
    ClientConnection,
    ErrorResponse,
    JSONBody,
    ResponseComplete,
    ResponseHead,
    StreamIncomplete,
)
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    EventDecodeError,
    InvalidParameterError,
    LocalProtocolError,
    WireError,
)
from ._events import ContentBlockDelta, Ping, StreamError
from ._message import Message
from ._proxy import (
    Proxy,
    ProxyError,
    ProxySetting,
    Tunnel,
    absolute_target,
    refusal,
    select_proxy,
)
from ._ratelimit import (
    Limiter,
    RateLimits,
    Reservation,
    class_key,
    estimate_input_tokens,
    keep_recent,
)
from ._retry import RetryPolicy
from ._timeouts import Timeout
from .builders import APIConfig, Request

__all__ = [
    "DEFAULT_KEEPALIVE",
    "DEFAULT_MAX_IDLE",
    "Action",
    "Arrived",
    "Budgets",
    "Call",
    "Close",
    "Connect",
    "Deliver",
    "Pages",
    "Pool",
    "Raise",
    "Receive",
    "Return",
    "Send",
    "Session",
    "Sleep",
    "StartTLS",
]

#: Idle connections a client keeps (over every route). One per concurrent
#: caller is what reuse needs, so a burst of up to 100 callers reuses every
#: connection (the official SDK keeps 100 too); past that the leftovers are closed.
DEFAULT_MAX_IDLE = 100
#: Seconds an idle connection is kept: servers and middleboxes drop idle
#: keep-alive connections after some seconds; an older one is closed, not reused.
DEFAULT_KEEPALIVE = 15.0


# --- actions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connect:
    """Open a TCP connection to `host:port` (the proxy's when there is one) by `deadline`."""

    host: str
    port: int
    deadline: float | None


@dataclass(frozen=True, slots=True)
class StartTLS:
    """Run TLS over `handle` (verified, SNI `server_hostname`, ALPN http/1.1) by `deadline`."""

    handle: Any
    server_hostname: str
    deadline: float | None


@dataclass(frozen=True, slots=True)
class Send:
    """Send all of `data` on `handle` by `deadline`."""

    handle: Any
    data: bytes
    deadline: float | None


@dataclass(frozen=True, slots=True)
class Receive:
    """Receive some bytes from `handle` (b"" at end of file) by `deadline`."""

    handle: Any
    deadline: float | None


@dataclass(frozen=True, slots=True)
class Sleep:
    """Sleep until the clock reads `until` (a retry's backoff, the limiter's wait)."""

    until: float


@dataclass(frozen=True, slots=True)
class Deliver:
    """Hand `items` (stream events, batch results) to the caller, in order, iterating them once.

    In a stream, taking an item applies it to the call's `message`, so that
    `message` is always the message of the events handed out so far.
    """

    items: Iterable[Any]


@dataclass(frozen=True, slots=True)
class Close:
    """Close `handle` (a connection that may not be reused)."""

    handle: Any


@dataclass(frozen=True, slots=True)
class Return:
    """The call succeeded with `value`."""

    value: Any


@dataclass(frozen=True, slots=True)
class Raise:
    """The call failed with `error`."""

    error: WireError


@dataclass(frozen=True, slots=True)
class Arrived:
    """What a forwarded call (`Session.forward`) delivers: the `ResponseHead`, then each
    body piece (de-chunked, decoded) as one read brought it; `at` is the clock time of
    that read."""

    at: float
    value: ResponseHead | bytes


Action: TypeAlias = Connect | StartTLS | Send | Receive | Sleep | Deliver | Close | Return | Raise
# What a driver reported: ("next" | "connected" | "received" | "failed" | "timed_out", value).
_Report: TypeAlias = tuple[str, Any]
_V = TypeVar("_V")
_Timer: TypeAlias = tuple[str, float | None, float | None]  # name, seconds, deadline
_UNBOUNDED = 2**62


# --- the pool -----------------------------------------------------------------------


@dataclass(slots=True)
class _Idle:
    key: Any
    handle: Any
    connection: ClientConnection
    since: float


class Pool:
    """Idle connections (opaque driver handles with their `ClientConnection`) by route.

    At most `max_idle` in all, each for at most `keepalive` seconds; the
    newest of a route is reused first. Not locked: the `Session`'s lock guards it.
    """

    def __init__(self, max_idle: int = DEFAULT_MAX_IDLE, keepalive: float = DEFAULT_KEEPALIVE):
        self.max_idle = max_idle
        self.keepalive = keepalive
        self.closed = False
        self._idle: list[_Idle] = []

    def __len__(self) -> int:
        return len(self._idle)

    def take(self, key: Any, now: float) -> tuple[_Idle | None, list[Any]]:
        """A connection to reuse for `key` (or None), and the expired handles to close."""
        expired = [i.handle for i in self._idle if now - i.since > self.keepalive]
        if expired:
            self._idle = [i for i in self._idle if now - i.since <= self.keepalive]
        for at in range(len(self._idle) - 1, -1, -1):
            if self._idle[at].key == key:
                return self._idle.pop(at), expired
        return None, expired

    def put(self, key: Any, handle: Any, connection: ClientConnection, now: float) -> list[Any]:
        """Keep an idle connection; returns the handles to close (the oldest past `max_idle`)."""
        if self.closed or self.max_idle == 0:
            return [handle]
        self._idle.append(_Idle(key, handle, connection, now))
        excess = len(self._idle) - self.max_idle
        if excess <= 0:
            return []
        out = [i.handle for i in self._idle[:excess]]
        del self._idle[:excess]
        return out

    def close(self) -> list[Any]:
        """Refuse further connections; returns every idle handle, to close."""
        self.closed = True
        out = [i.handle for i in self._idle]
        self._idle.clear()
        return out


# --- the session: what one client's calls share --------------------------------------


def _setting(value: str | None, environ: Mapping[str, str], name: str) -> str | None:
    return value if value is not None else (environ.get(name) or None)


class Session:
    """One client's settings, pool and limiter; its endpoint methods make `Call`s.

    `environ` is the environment to read (`ANTHROPIC_API_KEY`,
    `ANTHROPIC_AUTH_TOKEN`, `ANTHROPIC_BASE_URL`, the proxy variables); the
    driver passes `os.environ`. `lock` guards the pool and the limiter;
    `epoch_offset` (wall clock minus the driver's clock) lets a `retry-after`
    HTTP date be read. `repr` shows no key.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        auth_token: str | None = None,
        base_url: str | None = None,
        timeout: Timeout | float | None = None,
        max_retries: int = 2,
        proxy: ProxySetting = "env",
        limiter: Limiter | None = None,
        anthropic_version: str = "2023-06-01",
        default_headers: builders.HeaderPairs | None = None,
        environ: Mapping[str, str] | None = None,
        lock: contextlib.AbstractContextManager[Any] | None = None,
        epoch_offset: float = 0.0,
        retry: RetryPolicy | None = None,
        pool: Pool | None = None,
    ) -> None:
        env: Mapping[str, str] = {} if environ is None else environ
        key = _setting(api_key, env, "ANTHROPIC_API_KEY")
        token = _setting(auth_token, env, "ANTHROPIC_AUTH_TOKEN")
        if key is None and token is None:
            raise InvalidParameterError(
                "api_key", "no credentials: pass api_key or auth_token, or set ANTHROPIC_API_KEY"
            )
        url = _setting(base_url, env, "ANTHROPIC_BASE_URL") or "https://api.anthropic.com"
        self.scheme, self.host, self.port, path = _parse_base_url(url)
        self.tls = self.scheme == "https"
        default_port = 443 if self.tls else 80
        bracketed = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = bracketed if self.port == default_port else f"{bracketed}:{self.port}"
        self.config = APIConfig(
            api_key=key,
            auth_token=token,
            anthropic_version=anthropic_version,
            default_headers=() if default_headers is None else tuple(_pairs(default_headers)),
            base_path=path,
        )
        self.timeout = Timeout.of(timeout)
        self.retry = RetryPolicy(max_retries) if retry is None else retry
        if proxy is not None and not isinstance(proxy, str):
            raise InvalidParameterError("proxy", "must be 'env', a proxy URL or None")
        self.proxy: Proxy | None = select_proxy(self.scheme, self.host, self.port, proxy, env)
        self.limiter = limiter
        self.lock: contextlib.AbstractContextManager[Any] = (
            contextlib.nullcontext() if lock is None else lock
        )
        self.epoch_offset = epoch_offset
        self.pool = Pool() if pool is None else pool
        self.route = (self.scheme, self.host, self.port, self.proxy)
        self._rate_limits: dict[str, RateLimits] = {}
        self.rate_limits: Mapping[str, RateLimits] = MappingProxyType(self._rate_limits)

    def __repr__(self) -> str:
        via = f", proxy={self.proxy!r}" if self.proxy else ""
        return f"Session({self.scheme}://{self.host_header}{self.config.base_path}{via})"

    def close(self) -> list[Any]:
        """Close the pool; returns the idle handles for the driver to close."""
        with self.lock:
            return self.pool.close()

    # -- endpoints: each returns a Call ------------------------------------------------

    def create_message(self, **params: Any) -> Call[Message]:
        request = builders.create_message(self.config, stream=False, **params)
        call = Call[Message](self, request, "json", Message.from_dict, params.get("max_tokens"))
        return call.budget(params)

    def stream_message(self, **params: Any) -> Call[Message]:
        request = builders.create_message(self.config, stream=True, **params)
        return Call[Message](self, request, "stream", None, params.get("max_tokens")).budget(params)

    def count_tokens(self, **params: Any) -> Call[int]:
        return Call[int](self, builders.count_tokens(self.config, **params), "json", _input_tokens)

    def get_model(self, model_id: str) -> Call[Model]:
        return Call[Model](self, builders.get_model(self.config, model_id), "json", Model.from_dict)

    def list_models(self, *, limit: int | None = None) -> Pages[Model]:
        def page(after: str | None) -> Call[Page[Model]]:
            request = builders.list_models(self.config, limit=limit, after_id=after)
            return Call(self, request, "json", lambda v: Page.from_dict(v, Model.from_dict))

        return Pages(page)

    def create_batch(self, requests: list[dict[str, Any]]) -> Call[MessageBatch]:
        request = builders.create_batch(self.config, requests)
        return Call(self, request, "json", MessageBatch.from_dict)

    def get_batch(self, batch_id: str) -> Call[MessageBatch]:
        request = builders.get_batch(self.config, batch_id)
        return Call(self, request, "json", MessageBatch.from_dict)

    def list_batches(self, *, limit: int | None = None) -> Pages[MessageBatch]:
        def page(after: str | None) -> Call[Page[MessageBatch]]:
            request = builders.list_batches(self.config, limit=limit, after_id=after)
            return Call(self, request, "json", lambda v: Page.from_dict(v, MessageBatch.from_dict))

        return Pages(page)

    def cancel_batch(self, batch_id: str) -> Call[MessageBatch]:
        request = builders.cancel_batch(self.config, batch_id)
        return Call(self, request, "json", MessageBatch.from_dict)

    def delete_batch(self, batch_id: str) -> Call[DeletedMessageBatch]:
        request = builders.delete_batch(self.config, batch_id)
        return Call(self, request, "json", DeletedMessageBatch.from_dict)

    def batch_results(self, batch_id: str) -> Call[None]:
        return Call[None](self, builders.batch_results(self.config, batch_id), "jsonl")

    def forward(
        self, method: str, target: str, headers: builders.HeaderPairs, body: bytes = b""
    ) -> Call[None]:
        """A request sent as given, its answer delivered raw: for proxies and recorders.

        `target` goes after the base URL's path; `headers` are sent as they are
        (the caller's own key and version: the session adds none of its own).
        The call delivers `Arrived` items (the head, then the body pieces as read,
        whatever the status) and returns None when the body is complete. It is
        never retried (the caller forwards faithfully); a body cut off raises
        after the pieces that came.
        """
        request = Request(method, self.config.base_path + target, tuple(_pairs(headers)), body)
        return Call[None](self, request, "raw")


def _pairs(headers: builders.HeaderPairs) -> list[tuple[str, str]]:
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


def _parse_base_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a base URL; `InvalidParameterError` naming `base_url`."""
    if not isinstance(url, str):
        raise InvalidParameterError("base_url", f"must be a str, not {type(url).__name__}")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise InvalidParameterError("base_url", "is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidParameterError("base_url", "must start with https:// or http://")
    host = parts.hostname
    if not host or not host.isascii() or parts.username is not None:
        raise InvalidParameterError("base_url", "needs an ASCII host and no userinfo")
    if parts.query or parts.fragment:
        raise InvalidParameterError("base_url", "may not have a query or fragment")
    return scheme, host, port or (443 if scheme == "https" else 80), parts.path


def _input_tokens(value: Any) -> int:
    count = value.get("input_tokens") if isinstance(value, dict) else None
    if type(count) is not int:
        raise EventDecodeError("count_tokens", "the answer has no integer 'input_tokens'")
    return count


def _describe(exc: BaseException) -> str:
    """An I/O failure in words: its class (asyncio's refusal says only "Connect call
    failed"; `ConnectionRefusedError` says what happened) and text, and, when its cause
    is a group (trio's "all attempts to connect ... failed"), the errors it sums up."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    group = exc.__cause__
    if isinstance(group, BaseExceptionGroup):
        text += f" ({'; '.join(dict.fromkeys(_describe(inner) for inner in group.exceptions))})"
    return text


class Pages(Generic[_V]):
    """A list endpoint's pages: `next_call()` until None, `items(page)` for each page's result.

    Follows `Page.next_after_id` (PROTOCOL.md §2.3): a driver runs

        while (call := pages.next_call()) is not None:
            yield from pages.items(run(call))
    """

    def __init__(self, make: Callable[[str | None], Call[Page[Any]]]) -> None:
        self._make = make
        self._after: str | None = None
        self._done = False

    def next_call(self) -> Call[Page[Any]] | None:
        if self._done:
            return None
        self._done = True
        return self._make(self._after)

    def items(self, page: Page[Any]) -> tuple[_V, ...]:
        self._after = page.next_after_id
        self._done = self._after is None
        return page.data


class Budgets:
    """What a driver's client shows of its `Session`'s rate limits (every driver's base)."""

    _session: Session

    @property
    def rate_limits(self) -> Mapping[str, RateLimits]:
        """The last `RateLimits` seen per model class (`model_class(model)`), read-only:
        kept from each messages response that carried `anthropic-ratelimit-*` headers."""
        return self._session.rate_limits


# --- one call -----------------------------------------------------------------------


class _Retry(Exception):
    """Internal: a reused connection failed before any answer; try once on a fresh one."""


class Call(Generic[_V]):
    """One API call, from the first byte to its outcome, across retries (see the module doc).

    `kind` is what the response should carry: `"json"` (returned through
    `parse`), `"stream"` (events delivered, the `Message` returned) or
    `"jsonl"` (batch results delivered). `max_tokens` books output tokens
    with the session's `Limiter` (only messages are limited).
    """

    def __init__(
        self,
        session: Session,
        request: Request,
        kind: Literal["json", "stream", "jsonl", "raw"],
        parse: Callable[[Any], Any] | None = None,
        max_tokens: int | None = None,
    ) -> None:
        self.session = session
        self.kind = kind
        self.request = request
        if session.proxy is not None and not session.tls:  # plain HTTP through a proxy
            target = absolute_target(session.scheme, session.host, session.port, request.target)
            auth = session.proxy.authorization
            extra = () if auth is None else (("proxy-authorization", auth),)
            self.request = Request(request.method, target, request.headers + extra, request.body)
        self._parse = parse
        self._limited = max_tokens is not None and session.limiter is not None
        self._estimate = (len(request.body) // 4, max_tokens if type(max_tokens) is int else 0)
        self._model: str | None = None  # a messages call's model: its rate-limit class
        self.attempts = 0
        self.result: _V  # set when the call returns (also carried by `Return`)
        self.response: ResponseHead | None = None
        self.delivered = False
        self.done = False
        self._now = 0.0
        self._total: float | None = None
        self._handle: Any = None  # the connection in use (closed by abort)
        self._connection: ClientConnection | None = None
        self._reservation: Reservation | None = None
        # The message of the events handed to the caller (the connection's own is ahead of
        # it by the rest of a chunk); the connection enforces the size limit, not this.
        self._given = MessageAccumulator(max_message_bytes=_UNBOUNDED) if kind == "stream" else None
        self._timer = ("read", 0.0)  # the deadline in force: its name and length
        self._doing = ""
        self._gen = self._run()

    def __repr__(self) -> str:
        return f"Call({self.request.method} {self.request.target}, attempts={self.attempts})"

    def budget(self, params: Mapping[str, Any]) -> Call[_V]:
        """A messages call: its model's class gets the rate limits of its responses, and
        the limiter books the input `estimate_input_tokens` gives (only when limited)."""
        model = params.get("model")
        self._model = model if isinstance(model, str) else None
        if self._limited:
            self._estimate = (estimate_input_tokens(params), self._estimate[1])
        return self

    @property
    def message(self) -> Message | None:
        """The streamed `Message` of the events delivered so far (None before `message_start`).

        Not the connection's: it has applied every event of a chunk at once,
        while the caller may be at the first of them.
        """
        return None if self._given is None else self._given.message

    # -- what the driver calls -----------------------------------------------------------

    def start(self, now: float) -> Action:
        """Begin: the first action."""
        self._now = now
        total = self.session.timeout.total
        self._total = None if total is None else now + total
        return next(self._gen)

    def next(self, now: float) -> Action:
        """The last action (send, sleep, deliver, close) is done."""
        return self._report(now, ("next", None))

    def connected(self, handle: Any, now: float) -> Action:
        """`Connect` or `StartTLS` succeeded with this handle."""
        return self._report(now, ("connected", handle))

    def received(self, data: bytes, now: float) -> Action:
        """`Receive` got `data` (b"" at end of file)."""
        return self._report(now, ("received", data))

    def failed(self, exc: BaseException, now: float) -> Action:
        """The last action failed with `exc` (an `OSError`, an `ssl` error ...)."""
        return self._report(now, ("failed", exc))

    def timed_out(self, now: float) -> Action:
        """The last action's deadline passed."""
        return self._report(now, ("timed_out", None))

    def abort(self) -> list[Any]:
        """The caller left before the outcome: the handles to close (never pooled)."""
        if self.done:
            return []
        self.done = True
        self._gen.close()
        self._settle(None)
        handle, self._handle = self._handle, None
        return [] if handle is None else [handle]

    def _report(self, now: float, report: _Report) -> Action:
        if self.done:
            raise LocalProtocolError("this call has ended")
        self._now = now
        return self._gen.send(report)

    # -- the loop ------------------------------------------------------------------------

    def _run(self) -> Generator[Action, _Report, None]:
        retry = self.session.retry
        while True:
            self.attempts += 1
            outcome = yield from self._attempt()
            if not isinstance(outcome, WireError):
                self.done, self.result = True, outcome
                yield Return(outcome)
                return
            delay = None
            final = self.delivered or getattr(outcome, "timeout", None) == "total"
            final = final or self.kind == "raw"  # forwarded: the caller's to retry, not ours
            if not final:
                wall = self._now + self.session.epoch_offset
                delay = retry.delay(self.attempts - 1, error=outcome, now=wall)
            if delay is None or (self._total is not None and self._now + delay > self._total):
                self.done = True
                yield Raise(outcome)
                return
            yield Sleep(self._now + delay)

    def _attempt(self) -> Generator[Action, _Report, Any]:
        """One attempt: the value on success, else the error (retried or not by `_run`)."""
        self.response = None
        if self._limited and self.session.limiter is not None:
            error = yield from self._wait_turn(self.session.limiter)
            if error is not None:
                return error
        try:
            return (yield from self._exchange(fresh=False))
        except _Retry:
            return (yield from self._exchange(fresh=True))

    def _wait_turn(self, limiter: Limiter) -> Generator[Action, _Report, WireError | None]:
        """Book with the limiter and sleep until the request may go; a reservation not
        booked (the class's first request is unanswered) is asked for again when due."""
        while True:
            with self.session.lock:
                reservation = limiter.book(
                    self._now,
                    model=self._model,
                    input_tokens=self._estimate[0],
                    output_tokens=self._estimate[1],
                )
            self._reservation = reservation if reservation.booked else None
            wake = reservation.send_at
            if self._total is not None and wake > self._total:
                self._settle(None)
                return APITimeoutError(
                    "the rate limiter's wait runs past the total timeout", timeout="total"
                )
            if wake > self._now:
                yield Sleep(wake)
            if reservation.booked:
                return None

    def _exchange(self, *, fresh: bool) -> Generator[Action, _Report, Any]:
        """Send the request on a pooled or new connection and read the answer."""
        session = self.session
        idle = None
        if not fresh:
            with session.lock:
                idle, expired = session.pool.take(session.route, self._now)
            for handle in expired:
                yield Close(handle)
        if idle is not None:
            self._handle, self._connection = idle.handle, idle.connection
        else:
            error = yield from self._open()
            if error is not None:
                return error
        reused = idle is not None
        assert self._connection is not None
        self._connection.raw = self.kind == "raw"
        try:
            data = self._connection.send_request(self.request)
        except WireError as exc:
            yield from self._drop()
            return exc
        self._doing = "sending the request to"
        kind, value = yield Send(self._handle, data, self._deadline("read", session.timeout.read))
        if kind != "next":
            yield from self._drop()
            if reused and kind == "failed":
                raise _Retry
            return self._transport_error(kind, value)
        return self._proxy_refused((yield from self._read(reused)))

    def _open(self) -> Generator[Action, _Report, WireError | None]:
        """Open a connection (through the proxy's tunnel, then TLS): None, or the error."""
        session = self.session
        proxy = session.proxy
        host, port = (proxy.host, proxy.port) if proxy else (session.host, session.port)
        deadline = self._deadline("connect", session.timeout.connect)
        self._doing = f"connecting to {host}:{port} for"
        kind, value = yield Connect(host, port, deadline)
        if kind != "connected":
            return self._transport_error(kind, value)
        self._handle = value
        if proxy is not None and session.tls:
            tunnel = Tunnel(proxy, session.host, session.port)
            self._doing = f"opening a tunnel through proxy {proxy.url} to"
            kind, value = yield Send(self._handle, tunnel.request(), deadline)
            opened = False
            while kind == "next" or (kind == "received" and not opened):
                kind, value = yield Receive(self._handle, deadline)
                if kind == "received":
                    try:
                        opened = tunnel.receive_data(value)
                    except ProxyError as exc:
                        yield from self._drop()
                        return exc
            if kind != "received":
                yield from self._drop()
                return self._transport_error(kind, value)
            if tunnel.trailing:
                yield from self._drop()
                return ProxyError(
                    f"proxy {proxy.url} sent bytes after opening the tunnel", proxy=proxy.url
                )
        if session.tls:
            self._doing = "in the TLS handshake with"
            kind, value = yield StartTLS(self._handle, session.host, deadline)
            if kind != "connected":
                yield from self._drop()
                return self._transport_error(kind, value)
            self._handle = value
        self._connection = ClientConnection(session.host_header)
        return None

    def _read(self, reused: bool) -> Generator[Action, _Report, Any]:
        """Receive the response: deliver what the caller gets, and end the connection's turn."""
        connection = self._connection
        assert connection is not None
        reader = _Reader(self)
        self._doing = "waiting for the answer from"
        while True:
            kind, data = yield Receive(self._handle, reader.deadline())
            if kind != "received":
                yield from self._drop()
                if reused and kind == "failed" and self.response is None:
                    raise _Retry
                return self._transport_error(kind, data)
            try:
                events = connection.receive_data(data)
            except WireError as exc:
                yield from self._drop()
                if not data and self.response is None:
                    if reused:
                        raise _Retry from None
                    return self._closed_early(exc)
                return exc
            items = reader.take(events)
            complete, pending = reader.complete, connection.pending_error
            ended = complete is not None or pending is not None or reader.error is not None
            if complete is not None and complete.reusable and pending is None:
                yield from self._release()
            elif ended:
                yield from self._drop()
                reader.error = reader.error or pending
            if items:
                self.delivered = True
                yield Deliver(items if self._given is None else self._give(items))
            if reader.error is not None:
                self._settle(self.message if reader.stream else None)
                return reader.error
            if complete is not None:
                return self._outcome(reader.value)

    def _give(self, items: list[Any]) -> Iterator[Any]:
        """Hand out stream events, applying each to `message` just before it goes."""
        assert self._given is not None
        feed = self._given.feed
        for item in items:
            feed(item)
            yield item

    def _outcome(self, value: Any) -> Any:
        """The value of a complete, successful response."""
        if self.kind == "stream":
            self._settle(self.message)
            return self.message
        if self.kind == "jsonl":
            self._settle(None)
            return None
        try:
            result = value if self._parse is None else self._parse(value)
        except WireError as exc:
            self._settle(None)
            return exc
        self._settle(result if isinstance(result, Message) else None)
        return result

    # -- helpers -------------------------------------------------------------------------

    def _deadline(self, name: str, seconds: float | None) -> float | None:
        """The deadline `name` (`seconds` from now), or the total one if that comes first."""
        return self._earliest((name, seconds, _plus(self._now, seconds)))

    def _earliest(self, *timers: _Timer) -> float | None:
        """The earliest of `timers` and the total deadline; remembers which, for `timed_out`."""
        best: _Timer = ("total", self.session.timeout.total, self._total)
        for timer in timers:
            if timer[2] is not None and (best[2] is None or timer[2] < best[2]):
                best = timer
        self._timer = (best[0], best[1] or 0.0)
        return best[2]

    def _transport_error(self, kind: str, value: Any) -> WireError:
        """The error for a failed or timed-out action, naming the host and the cause."""
        where = self.session.host_header
        if kind == "timed_out":
            name, seconds = self._timer
            return APITimeoutError(
                f"the {name} timeout ({seconds:g} s) ran out {self._doing} {where}", timeout=name
            )
        if isinstance(value, WireError):
            return value
        cause = _describe(value)
        error = APIConnectionError(f"connection failed {self._doing} {where}: {cause}")
        error.__cause__ = value
        return error

    def _proxy_refused(self, outcome: Any) -> Any:
        """A plain-HTTP proxy's 407 (not the API's answer) as a `ProxyError`, else `outcome`.

        Whatever reading it came to (the 407's body, or a reset: proxies often close
        without reading the request body), the head says who refused and why.
        """
        proxy, head = self.session.proxy, self.response
        if proxy is None or self.session.tls or head is None or head.status != 407:
            return outcome
        where = f"the request to {self.session.host_header}"
        error = refusal(proxy, where, head.status, head.reason)
        error.__cause__ = outcome if isinstance(outcome, BaseException) else None
        return error

    def _closed_early(self, exc: WireError) -> APIConnectionError:
        error = APIConnectionError(
            f"{self.session.host_header} closed the connection before answering"
        )
        error.__cause__ = exc
        return error

    def _release(self) -> Generator[Action, _Report, None]:
        """The response completed and the connection is reusable: back to the pool."""
        handle, self._handle = self._handle, None
        assert self._connection is not None
        with self.session.lock:
            to_close = self.session.pool.put(
                self.session.route, handle, self._connection, self._now
            )
        for stale in to_close:
            yield Close(stale)

    def _drop(self) -> Generator[Action, _Report, None]:
        """Close the connection in use (failed, cut off, or not reusable)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            yield Close(handle)

    def _settle(self, message: Message | None) -> None:
        """Settle the limiter's reservation with the usage a message reports (else none)."""
        reservation, self._reservation = self._reservation, None
        limiter = self.session.limiter
        if reservation is None or limiter is None:
            return
        used_in = used_out = 0
        if message is not None:
            usage = message.usage
            used_in = usage.input_tokens + (usage.cache_creation_input_tokens or 0)
            used_out = usage.output_tokens
        with self.session.lock:
            limiter.record_usage(
                self._now, reservation, input_tokens=max(0, used_in), output_tokens=max(0, used_out)
            )


class _Reader:
    """The state of reading one response: the timers in force, the value, the first error.

    `take(events)` sorts what one `receive_data` returned, one method per kind
    of response event, and returns the items for the caller.
    """

    def __init__(self, call: Call[Any]) -> None:
        self.call = call
        self.stream = call.kind == "stream"
        self.raw = call.kind == "raw"
        self.jsonl = JSONLDecoder() if call.kind == "jsonl" else None
        self.last_event = self.last_content = call._now
        self.value: Any = None
        self.error: WireError | None = None
        self.complete: ResponseComplete | None = None
        self.items: list[Any] = []

    def deadline(self) -> float | None:
        """The deadline of the next receive, remembered by the call for `timed_out`.

        The earliest of `total`, `read` and, in a stream, `idle` and `stall` (a tie
        goes to the first named); written out rather than through `Call._earliest`
        because it runs once per read.
        """
        call = self.call
        now, timeout = call._now, call.session.timeout
        name, seconds, best = "total", timeout.total, call._total
        read = timeout.read
        if read is not None and (best is None or now + read < best):
            name, seconds, best = "read", read, now + read
        if self.stream and call.response is not None:
            idle, stall = timeout.idle, timeout.stall
            if idle is not None and (best is None or self.last_event + idle < best):
                name, seconds, best = "idle", idle, self.last_event + idle
            if stall is not None and (best is None or self.last_content + stall < best):
                name, seconds, best = "stall", stall, self.last_content + stall
        call._timer = (name, seconds or 0.0)
        return best

    def take(self, events: list[Any]) -> list[Any]:
        """Sort one chunk's response events; the items to deliver (stream events, results)."""
        items: list[Any] = []
        self.items, now = items, self.call._now
        for event in events:
            if type(event) is ContentBlockDelta and self.error is None:  # most of a stream
                items.append(event)
                self.last_event = self.last_content = now
            elif isinstance(event, ResponseHead):
                self._head(event)
                if self.raw:
                    items.append(Arrived(now, event))
            elif isinstance(event, ResponseComplete):
                self.complete = event
            elif isinstance(event, ErrorResponse | StreamIncomplete):
                self.error = self.error or event.error
            elif isinstance(event, JSONBody):
                self.value = event.value
            elif isinstance(event, BodyData):
                if self.jsonl is not None:
                    items.extend(self.jsonl.feed(event.data))
                elif self.raw:
                    items.append(Arrived(now, event.data))
            elif self.error is None:
                self._stream_event(event)
        if self.jsonl is not None:
            self._jsonl_end()
        return items

    def _head(self, head: ResponseHead) -> None:
        call = self.call
        call.response = head
        self.last_event = self.last_content = call._now
        session, model, limits = call.session, call._model, head.rate_limits
        if model is None:
            return
        limiter = session.limiter
        with session.lock:
            if limits.requests.limit or limits.input_tokens.limit or limits.output_tokens.limit:
                keep_recent(session._rate_limits, class_key(model), limits)
            if limiter is not None and call._limited:
                wall = call._now + session.epoch_offset
                limiter.update(call._now, limits, model=model, wall=wall)

    def _stream_event(self, event: Any) -> None:
        self.items.append(event)
        self.last_event = self.call._now
        if not isinstance(event, Ping):
            self.last_content = self.call._now
        if isinstance(event, StreamError):
            response = self.call.response
            request_id = None if response is None else response.request_id
            self.error = event.to_exception(request_id=request_id)

    def _jsonl_end(self) -> None:
        """At the body's end, the last result (or the error a cut-off line makes)."""
        assert self.jsonl is not None
        try:
            if self.complete is not None and self.error is None:
                self.items.extend(self.jsonl.close())
            if self.jsonl.pending_error is not None:
                self.error = self.error or self.jsonl.pending_error
        except WireError as exc:
            self.error = self.error or exc


def _plus(start: float, seconds: float | None) -> float | None:
    return None if seconds is None else start + seconds
