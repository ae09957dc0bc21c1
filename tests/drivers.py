"""One face for every driver, so that the behavioural suite runs on each.

`DRIVERS` maps a name to an adapter whose `client(**options)` opens a client
of that driver and returns a `Face`: the client's methods as plain blocking
calls (a stream is read to its end, or to `stop_after` events, and returned
as a `StreamResult`). The sync driver needs nothing more; trio and asyncio
adapters run each method in their event loop (e.g. a loop in a thread, or
`trio.from_thread`), keeping one client, and so one pool, across calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import wire
import wire.sync


@dataclass
class StreamResult:
    events: list[Any]
    message: wire.Message | None
    response: wire.ResponseHead | None


class Face(Protocol):
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
            for event in stream:
                events.append(event)
                if stop_after is not None and len(events) >= stop_after:
                    break
            return StreamResult(events, stream.message, stream.response)

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


DRIVERS: dict[str, Any] = {"sync": SyncDriver()}
