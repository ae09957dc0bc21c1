"""One face for every driver, so that the behavioural suite runs on each.

`DRIVERS` maps a name to an adapter whose `client(**options)` opens a client
of that driver and returns a `Face`: the client's methods as plain blocking
calls (a stream is read to its end, or to `stop_after` events, and returned
as a `StreamResult`, with `stream.message` as it read after each event). The
sync driver needs nothing more; the trio and asyncio adapters run an event
loop in a thread for the client's life and each method in it, keeping one
client, and so one pool, across calls. `face.client` is the driver's client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import trio

import wire
import wire.asyncio
import wire.sync
import wire.trio


@dataclass
class StreamResult:
    events: list[Any]
    message: wire.Message | None
    response: wire.ResponseHead | None
    messages: list[wire.Message | None] = field(default_factory=list)  # after each event


class Face(Protocol):
    client: Any

    def create_message(self, **params: Any) -> wire.Message: ...
    def stream(self, *, stop_after: int | None = None, **params: Any) -> StreamResult: ...
    def count_tokens(self, **params: Any) -> int: ...
    def list_models(self, *, limit: int | None = None) -> list[wire.Model]: ...
    def get_model(self, model_id: str) -> wire.Model: ...
    def create_batch(self, requests: list[dict[str, Any]]) -> wire.MessageBatch: ...
    def get_batch(self, batch_id: str) -> wire.MessageBatch: ...
    def list_batches(self, *, limit: int | None = None) -> list[wire.MessageBatch]: ...
    def cancel_batch(self, batch_id: str) -> wire.MessageBatch: ...
    def delete_batch(self, batch_id: str) -> wire.DeletedMessageBatch: ...
    def batch_results(self, batch_id: str) -> list[wire.BatchResult]: ...
    def idle_connections(self) -> int: ...


class SyncFace:
    def __init__(self, client: wire.sync.Client) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return getattr(self.client, name)  # type: ignore[no-any-return]

    def stream(self, *, stop_after: int | None = None, **params: Any) -> StreamResult:
        events: list[Any] = []
        with self.client.stream_message(**params) as stream:
            messages = []
            for event in stream:
                events.append(event)
                messages.append(stream.message)
                if stop_after is not None and len(events) >= stop_after:
                    break
            return StreamResult(events, stream.message, stream.response, messages)

    def list_models(self, *, limit: int | None = None) -> list[wire.Model]:
        return list(self.client.list_models(limit=limit))

    def list_batches(self, *, limit: int | None = None) -> list[wire.MessageBatch]:
        return list(self.client.list_batches(limit=limit))

    def batch_results(self, batch_id: str) -> list[wire.BatchResult]:
        return list(self.client.batch_results(batch_id))

    def idle_connections(self) -> int:
        return len(self.client._session.pool)


class SyncDriver:
    name = "sync"

    @contextmanager
    def client(self, **options: Any) -> Iterator[Face]:
        with wire.sync.Client(**options) as client:
            yield SyncFace(client)


Run = Callable[[Callable[[], Awaitable[Any]]], Any]  # runs a coroutine function in the loop


async def _collect(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


class AsyncFace:
    """An async client's methods as blocking calls: each runs in the loop's thread."""

    def __init__(self, client: Any, run: Run) -> None:
        self.client = client
        self.run = run

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)
        return lambda *args, **kwargs: self.run(lambda: method(*args, **kwargs))

    def stream(self, *, stop_after: int | None = None, **params: Any) -> StreamResult:
        async def read() -> StreamResult:
            events: list[Any] = []
            messages = []
            async with self.client.stream_message(**params) as stream:
                async for event in stream:
                    events.append(event)
                    messages.append(stream.message)
                    if stop_after is not None and len(events) >= stop_after:
                        break
            return StreamResult(events, stream.message, stream.response, messages)

        result: StreamResult = self.run(read)
        return result

    def list_models(self, *, limit: int | None = None) -> list[wire.Model]:
        return self.run(lambda: _collect(self.client.list_models(limit=limit)))  # type: ignore[no-any-return]

    def list_batches(self, *, limit: int | None = None) -> list[wire.MessageBatch]:
        return self.run(lambda: _collect(self.client.list_batches(limit=limit)))  # type: ignore[no-any-return]

    def batch_results(self, batch_id: str) -> list[wire.BatchResult]:
        return self.run(lambda: _collect(self.client.batch_results(batch_id)))  # type: ignore[no-any-return]

    def idle_connections(self) -> int:
        return len(self.client._session.pool)


@contextmanager
def trio_loop() -> Iterator[Run]:
    """A trio run in a thread for as long as the block lasts; yields its `run`."""
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        state["token"] = trio.lowlevel.current_trio_token()
        state["done"] = trio.Event()
        ready.set()
        await state["done"].wait()

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    ready.wait()
    token = state["token"]
    try:
        yield lambda afn: trio.from_thread.run(afn, trio_token=token)
    finally:
        trio.from_thread.run_sync(state["done"].set, trio_token=token)
        thread.join()


@contextmanager
def asyncio_loop() -> Iterator[Run]:
    """An asyncio loop in a thread for as long as the block lasts; yields its `run`."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield lambda afn: asyncio.run_coroutine_threadsafe(afn(), loop).result()  # type: ignore[arg-type]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


class AsyncDriver:
    def __init__(self, name: str, client: Callable[..., Any], loop: Callable[[], Any]) -> None:
        self.name = name
        self._client = client
        self._loop = loop

    @contextmanager
    def client(self, **options: Any) -> Iterator[Face]:
        with self._loop() as run:
            client = self._client(**options)
            try:
                yield AsyncFace(client, run)
            finally:
                run(client.aclose)


DRIVERS: dict[str, Any] = {
    "sync": SyncDriver(),
    "trio": AsyncDriver("trio", wire.trio.Client, trio_loop),
    "asyncio": AsyncDriver("asyncio", wire.asyncio.Client, asyncio_loop),
}
