"""What the async drivers share: the client methods, the stream object, the loop over a `Call`.

Layer: core (no event loop is imported here: `async def` needs none). Rule:
no I/O and no protocol rule either. A driver (`wire.trio`, `wire.asyncio`)
subclasses `AsyncClient` and supplies three things: its clock (`_now`), how
to carry out one I/O action by its deadline (`_do`, reporting to the call),
and how to close a connection at once (`_close`, also under cancellation).
Everything else (which connection, retries, deadlines, reuse) is the `Call`'s.

One event loop, many tasks: the pool and the limiter are touched only between
awaits, so the session's lock is a no-op (`contextlib.nullcontext`); a client
belongs to the event loop (and the run) that uses it first.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any, TypeVar

from ._batches import BatchResult, DeletedMessageBatch, MessageBatch, Model
from ._call import Action, Arrived, Budgets, Call, Deliver, Pages, Raise, Return, Session
from ._connection import ResponseHead
from ._message import Message
from ._proxy import ProxySetting
from ._ratelimit import Limiter
from ._timeouts import Timeout
from .builders import HeaderPairs

__all__ = ["AsyncClient", "AsyncMessageStream"]

_V = TypeVar("_V")


class AsyncClient(Budgets):
    """An async client for the Messages API (DESIGN.md "Drivers"); drivers subclass it.

    The arguments are DESIGN.md's, the same for every driver. A driver supplies
    `_environ()` (where the defaults are read from), `_wall()` (the wall clock,
    for `retry-after` dates) and `_default_tls()` (the verifying `ssl.SSLContext`
    used when `ssl_context` is None); `ssl_context` is kept for its `_do`.
    """

    _driver = "wire.async"

    def __init__(
        self,
        api_key: str | None = None,
        *,
        auth_token: str | None = None,
        base_url: str | None = None,
        timeout: Timeout | float | None = None,
        max_retries: int = 2,
        ssl_context: Any = None,
        proxy: ProxySetting = "env",
        limiter: Limiter | None = None,
        anthropic_version: str = "2023-06-01",
        default_headers: HeaderPairs | None = None,
    ) -> None:
        self._session = Session(
            api_key,
            auth_token=auth_token,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            proxy=proxy,
            limiter=limiter,
            anthropic_version=anthropic_version,
            default_headers=default_headers,
            environ=self._environ(),
        )
        if ssl_context is None and self._session.tls:
            ssl_context = self._default_tls()
        self._ssl = ssl_context

    def _environ(self) -> Mapping[str, str]:
        raise NotImplementedError  # the driver's

    def _wall(self) -> float:
        raise NotImplementedError  # the driver's

    def _default_tls(self) -> Any:
        raise NotImplementedError  # the driver's

    def __repr__(self) -> str:
        return f"{self._driver}.Client({self._session!r})"

    async def __aenter__(self: _C) -> _C:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every idle connection; the client makes no new ones after this."""
        for handle in self._session.close():
            await self._close(handle)

    # -- endpoints -------------------------------------------------------------------------

    async def create_message(self, **params: Any) -> Message:
        return await self._run(self._session.create_message(**params))

    def stream_message(self, **params: Any) -> AsyncMessageStream:
        """`async with client.stream_message(...) as stream: async for event in stream: ...`"""
        return AsyncMessageStream(self, self._session.stream_message(**params))

    async def count_tokens(self, **params: Any) -> int:
        return await self._run(self._session.count_tokens(**params))

    def list_models(self, *, limit: int | None = None) -> AsyncIterator[Model]:
        return self._pages(self._session.list_models(limit=limit))

    async def get_model(self, model_id: str) -> Model:
        return await self._run(self._session.get_model(model_id))

    async def create_batch(self, requests: list[dict[str, Any]]) -> MessageBatch:
        return await self._run(self._session.create_batch(requests))

    async def get_batch(self, batch_id: str) -> MessageBatch:
        return await self._run(self._session.get_batch(batch_id))

    def list_batches(self, *, limit: int | None = None) -> AsyncIterator[MessageBatch]:
        return self._pages(self._session.list_batches(limit=limit))

    async def cancel_batch(self, batch_id: str) -> MessageBatch:
        return await self._run(self._session.cancel_batch(batch_id))

    async def delete_batch(self, batch_id: str) -> DeletedMessageBatch:
        return await self._run(self._session.delete_batch(batch_id))

    def batch_results(self, batch_id: str) -> AsyncIterator[BatchResult]:
        """The results as they arrive (streamed JSONL); the request goes at the first item."""
        return self._drive(self._session.batch_results(batch_id))

    def forward(
        self, method: str, target: str, headers: HeaderPairs, body: bytes = b""
    ) -> AsyncGenerator[Arrived, None]:
        """Send a request as given and get its answer raw (`Session.forward`): for proxies.

        Use under `contextlib.aclosing`, so leaving early closes the connection.
        """
        return self._drive(self._session.forward(method, target, headers, body))

    # -- the loop --------------------------------------------------------------------------

    async def _run(self, call: Call[_V]) -> _V:
        async for _ in self._drive(call):  # a call that delivers nothing
            pass
        return call.result

    async def _pages(self, pages: Pages[_V]) -> AsyncIterator[_V]:
        while (call := pages.next_call()) is not None:
            for item in pages.items(await self._run(call)):
                yield item

    async def _drive(self, call: Call[Any]) -> AsyncGenerator[Any, None]:
        """Run `call`: yield what it delivers; raise its error. The value is `call.result`."""
        now = self._now()
        self._session.epoch_offset = self._wall() - now
        action = call.start(now)
        try:
            while True:
                if isinstance(action, Deliver):
                    for item in action.items:
                        yield item
                    action = call.next(self._now())
                elif isinstance(action, Return):
                    return
                elif isinstance(action, Raise):
                    raise action.error
                else:
                    action = await self._do(call, action)
        finally:  # left early (cancelled, interrupted, a stream not read to its end)
            for handle in call.abort():
                await self._close(handle)

    # -- what a driver supplies ------------------------------------------------------------

    def _now(self) -> float:
        """The driver's monotonic clock: every deadline and `Sleep` is on it."""
        raise NotImplementedError

    async def _do(self, call: Call[Any], action: Action) -> Action:
        """Carry out one I/O action (not Deliver, Return, Raise) by its deadline; report it."""
        raise NotImplementedError

    async def _close(self, handle: Any) -> None:
        """Close a connection at once, even in a cancelled task; never raises."""
        raise NotImplementedError


_C = TypeVar("_C", bound=AsyncClient)


class AsyncMessageStream:
    """A streamed message: `async for` the typed events as they arrive; an async context manager.

    `message` is the `Message` of the events yielded so far (the final one
    after the loop); `response` the `ResponseHead`. Leaving early (`aclose()`,
    the end of the `async with` block, an exception, cancellation) closes the
    connection: nothing goes back to the pool half-read.
    """

    def __init__(self, client: AsyncClient, call: Call[Message]) -> None:
        self._call = call
        self._events = client._drive(call)

    async def __aenter__(self) -> AsyncMessageStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncMessageStream:
        return self

    async def __anext__(self) -> Any:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        await self._events.aclose()

    @property
    def message(self) -> Message | None:
        return self._call.message

    @property
    def response(self) -> ResponseHead | None:
        return self._call.response
