"""`wire.sync.Client`: the blocking driver (stdlib `socket` + `ssl`).

Layer: driver. Rule: no protocol logic here: the sans-IO `Call` (`wire._call`)
decides; this module carries out its actions with a socket and a monotonic
clock. Threads may share a client (one lock guards the pool and the limiter).
Leaving a stream early closes its connection: nothing goes back half-read.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Generator, Iterator
from typing import Any, TypeVar

from . import _call
from ._batches import BatchResult, DeletedMessageBatch, MessageBatch, Model
from ._call import Close, Connect, Deliver, Raise, Receive, Return, Send, Sleep, StartTLS
from ._connection import ResponseHead
from ._message import Message
from ._proxy import ProxySetting
from ._ratelimit import Limiter
from ._timeouts import Timeout
from .builders import HeaderPairs

__all__ = ["Client", "MessageStream"]

_READ_SIZE = 64 * 1024
_V = TypeVar("_V")
_clock = time.monotonic


def _arm(sock: socket.socket, deadline: float | None) -> bool:
    """Set the socket's timeout to reach `deadline`; False when it has already passed."""
    left = None if deadline is None else deadline - _clock()
    if left is not None and left <= 0:
        return False
    sock.settimeout(left)
    return True


def _arm_read(sock: socket.socket, deadline: float | None) -> bool:
    """`_arm` for a read: a timeout ending at most 10% early is kept (each `settimeout` is
    a system call; the deadline moves with every event); an early wake-up re-arms."""
    current = sock.gettimeout()
    if deadline is None:
        if current is not None:
            sock.settimeout(None)
        return True
    left = deadline - _clock()
    if left <= 0:
        return False
    if current is None or not 0.9 * left <= current <= left:
        sock.settimeout(left)
    return True


class Client(_call.Budgets):
    """A blocking client for the Messages API (see DESIGN.md "Drivers" for the contract)."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        auth_token: str | None = None,
        base_url: str | None = None,
        timeout: Timeout | float | None = None,
        max_retries: int = 2,
        ssl_context: ssl.SSLContext | None = None,
        proxy: ProxySetting = "env",
        limiter: Limiter | None = None,
        anthropic_version: str = "2023-06-01",
        default_headers: HeaderPairs | None = None,
    ) -> None:
        self._session = _call.Session(
            api_key,
            auth_token=auth_token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            proxy=proxy,
            limiter=limiter,
            anthropic_version=anthropic_version,
            default_headers=default_headers,
            environ=os.environ,
            lock=threading.Lock(),
            epoch_offset=time.time() - _clock(),
        )
        if ssl_context is None and self._session.tls:
            ssl_context = ssl.create_default_context()
            ssl_context.set_alpn_protocols(["http/1.1"])
        self._ssl = ssl_context

    def __repr__(self) -> str:
        return f"wire.sync.Client({self._session!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every idle connection; the client makes no new ones after this."""
        for handle in self._session.close():
            handle.close()

    # -- endpoints -------------------------------------------------------------------------

    def create_message(self, **params: Any) -> Message:
        return self._run(self._session.create_message(**params))

    def stream_message(self, **params: Any) -> MessageStream:
        return MessageStream(self, self._session.stream_message(**params))

    def count_tokens(self, **params: Any) -> int:
        return self._run(self._session.count_tokens(**params))

    def list_models(self, *, limit: int | None = None) -> Iterator[Model]:
        return self._pages(self._session.list_models(limit=limit))

    def get_model(self, model_id: str) -> Model:
        return self._run(self._session.get_model(model_id))

    def create_batch(self, requests: list[dict[str, Any]]) -> MessageBatch:
        return self._run(self._session.create_batch(requests))

    def get_batch(self, batch_id: str) -> MessageBatch:
        return self._run(self._session.get_batch(batch_id))

    def list_batches(self, *, limit: int | None = None) -> Iterator[MessageBatch]:
        return self._pages(self._session.list_batches(limit=limit))

    def cancel_batch(self, batch_id: str) -> MessageBatch:
        return self._run(self._session.cancel_batch(batch_id))

    def delete_batch(self, batch_id: str) -> DeletedMessageBatch:
        return self._run(self._session.delete_batch(batch_id))

    def batch_results(self, batch_id: str) -> Iterator[BatchResult]:
        """The results as they arrive (streamed JSONL); the request goes at the first `next()`."""
        return self._drive(self._session.batch_results(batch_id))

    # -- the loop --------------------------------------------------------------------------

    def _run(self, call: _call.Call[_V]) -> _V:
        deque(self._drive(call), maxlen=0)  # run a call that delivers nothing
        return call.result

    def _pages(self, pages: _call.Pages[_V]) -> Iterator[_V]:
        while (call := pages.next_call()) is not None:
            yield from pages.items(self._run(call))

    def _drive(self, call: _call.Call[_V]) -> Generator[Any, None, _V]:
        """Run `call`: yield what it delivers, return its value, raise its error."""
        action = call.start(_clock())
        try:
            while True:
                if isinstance(action, Deliver):
                    yield from action.items
                    action = call.next(_clock())
                elif isinstance(action, Return):
                    return call.result
                elif isinstance(action, Raise):
                    raise action.error
                else:
                    action = self._do(call, action)
        finally:
            for handle in call.abort():  # left early: the connection in use is closed
                handle.close()

    def _do(self, call: _call.Call[Any], action: _call.Action) -> _call.Action:
        """Carry out one I/O action by its deadline and report how it went."""
        try:
            if isinstance(action, Receive):
                sock, deadline = action.handle, action.deadline
                while _arm_read(sock, deadline):
                    try:
                        data = sock.recv(_READ_SIZE)
                    except TimeoutError:
                        continue  # maybe early (see _arm_read): re-armed, or the deadline passed
                    return call.received(data, _clock())
            elif isinstance(action, Send):
                if _arm(action.handle, action.deadline):
                    action.handle.sendall(action.data)
                    return call.next(_clock())
            elif isinstance(action, Connect):
                left = None if action.deadline is None else action.deadline - _clock()
                if left is None or left > 0:
                    sock = socket.create_connection((action.host, action.port), timeout=left)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    return call.connected(sock, _clock())
            elif isinstance(action, StartTLS):
                if _arm(action.handle, action.deadline):
                    assert self._ssl is not None
                    name = action.server_hostname
                    tls = self._ssl.wrap_socket(action.handle, server_hostname=name)
                    return call.connected(tls, _clock())
            elif isinstance(action, Sleep):
                time.sleep(max(0.0, action.until - _clock()))
                return call.next(_clock())
            elif isinstance(action, Close):
                action.handle.close()
                return call.next(_clock())
        except TimeoutError:
            pass
        except OSError as exc:  # refused, reset, DNS, TLS verification ...
            return call.failed(exc, _clock())
        return call.timed_out(_clock())


class MessageStream:
    """A streamed message: iterate for typed events as they arrive; a context manager.

    `message`: the `Message` so far (final after the loop); `response`: the `ResponseHead`.
    """

    def __init__(self, client: Client, call: _call.Call[Message]) -> None:
        self._call = call
        self._events = client._drive(call)

    def __enter__(self) -> MessageStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Any]:
        return self._events  # `for` runs the driver's generator itself: no frame per event

    def __next__(self) -> Any:
        return next(self._events)

    def close(self) -> None:
        self._events.close()

    @property
    def message(self) -> Message | None:
        return self._call.message

    @property
    def response(self) -> ResponseHead | None:
        return self._call.response
