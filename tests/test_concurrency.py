"""Many tasks on one async client; leaving early (cancelled, interrupted) pools no connection.

Against the emulator in process (its own trio thread). File descriptors are
counted in /proc/self/fd: the emulator's side of each connection closes a
moment after the client's, so the count is awaited back to its baseline.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import trio

import wire
import wire.asyncio
import wire.sync
import wire.trio
from wire._call import DEFAULT_MAX_IDLE
from wire.testing import serve

MODEL = "claude-opus-4-6"
USER = [{"role": "user", "content": "Tell me about the weather in Paris"}]
FD_DIR = "/proc/self/fd"
pytestmark = pytest.mark.skipif(not os.path.isdir(FD_DIR), reason="needs /proc/self/fd")


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with serve() as running:
        yield running


def open_fds() -> int:
    return len(os.listdir(FD_DIR))


def baseline_fds() -> int:
    """The descriptors open now, once earlier tests' garbage is collected."""
    gc.collect()
    return settle_fds(open_fds())


def settle_fds(baseline: int, seconds: float = 5.0) -> int:
    """The descriptor count once it is back to `baseline` or below (or after `seconds`)."""
    deadline = time.monotonic() + seconds
    while (count := open_fds()) > baseline and time.monotonic() < deadline:
        time.sleep(0.02)
    return count


def test_500_concurrent_trio_streams_on_one_client(server: Any) -> None:
    params = {"model": MODEL, "max_tokens": 60, "messages": USER}
    with wire.sync.Client("sk-test", base_url=server.base_url, proxy=None) as sync:
        expected = sync.create_message(**params)
    baseline = baseline_fds()
    messages: list[wire.Message | None] = []

    async def one(client: wire.trio.Client) -> None:
        async with client.stream_message(**params) as stream:
            async for _event in stream:
                pass
        messages.append(stream.message)

    async def main() -> int:
        async with wire.trio.Client("sk-test", base_url=server.base_url, proxy=None) as client:
            async with trio.open_nursery() as nursery:
                for _ in range(500):
                    nursery.start_soon(one, client)
            return len(client._session.pool)

    idle = trio.run(main)
    assert len(messages) == 500
    assert all(m is not None and m.content == expected.content for m in messages)
    assert all(m is not None and m.stop_reason == expected.stop_reason for m in messages)
    assert 0 < idle <= DEFAULT_MAX_IDLE  # kept until aclose(), then closed
    assert settle_fds(baseline) <= baseline


def test_tasks_share_one_client_and_its_pool(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    original = server.emulator.connection

    def counting() -> Any:
        seen.append(1)
        return original()

    monkeypatch.setattr(server.emulator, "connection", counting)
    texts: list[str] = []

    async def work(client: Any) -> None:
        for _ in range(4):
            message = await client.create_message(model=MODEL, max_tokens=60, messages=USER)
            texts.append(message.content[0].text)

    async def trio_main() -> None:
        async with (
            wire.trio.Client("k", base_url=server.base_url, proxy=None) as client,
            trio.open_nursery() as nursery,
        ):
            for _ in range(6):
                nursery.start_soon(work, client)

    async def asyncio_main() -> None:
        async with wire.asyncio.Client("k", base_url=server.base_url, proxy=None) as client:
            await asyncio.gather(*(work(client) for _ in range(6)))

    trio.run(trio_main)
    asyncio.run(asyncio_main())
    assert len(texts) == 48
    assert len(set(texts)) == 1
    assert len(seen) <= 12  # at most one connection per task, reused for its later calls


# --- leaving early: the connection in use is closed, never pooled ----------------------------


def client_for(name: str, server: Any, fault: str | None = None) -> Any:
    headers = {"x-wire-fault": fault} if fault else None
    module = wire.trio if name == "trio" else wire.asyncio
    return module.Client("k", base_url=server.base_url, proxy=None, default_headers=headers)


async def read_until_cancelled(client: Any, got: list[Any]) -> None:
    async with client.stream_message(model=MODEL, max_tokens=200, messages=USER) as stream:
        async for event in stream:
            got.append(event)


@pytest.mark.parametrize("name", ["trio", "asyncio"])
def test_cancellation_mid_stream_closes_the_connection(name: str) -> None:
    with serve() as server:  # its own: `times` counts per server
        cancel_mid_stream(name, server)


def cancel_mid_stream(name: str, server: Any) -> None:
    baseline = baseline_fds()
    client = client_for(name, server, "stall=1.5;times=1")  # events, then silence
    got: list[Any] = []
    after: dict[str, Any] = {}

    async def check_then_reuse() -> None:
        after["idle"] = len(client._session.pool)
        message = await client.create_message(model=MODEL, max_tokens=20, messages=USER)
        after["text"] = message.content[0].text
        await client.aclose()

    async def trio_main() -> None:
        with trio.move_on_after(0.5):
            await read_until_cancelled(client, got)
        await check_then_reuse()

    async def asyncio_main() -> None:
        task = asyncio.ensure_future(read_until_cancelled(client, got))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await check_then_reuse()

    if name == "trio":
        trio.run(trio_main)
    else:
        asyncio.run(asyncio_main())
    assert got  # cancelled mid-stream, not before it began
    assert got[-1].type != "message_stop"
    assert after["idle"] == 0  # the half-read connection was not pooled
    assert after["text"]
    assert settle_fds(baseline) <= baseline


class InterruptAt(list[Any]):
    """A list of events whose `append` is where Ctrl-C lands, after `at` events."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def append(self, item: Any) -> None:
        super().append(item)
        if len(self) == self.at:
            raise KeyboardInterrupt


def test_keyboard_interrupt_mid_stream_closes_the_connection(server: Any) -> None:
    # Ctrl-C lands in the caller's loop body mid-stream (deterministically: a real SIGINT
    # sent from a timer may land outside the test on a loaded machine and stop the run).
    baseline = baseline_fds()
    client = client_for("trio", server)
    got = InterruptAt(3)
    with pytest.raises(KeyboardInterrupt):
        trio.run(read_until_cancelled, client, got)
    assert len(got) == 3
    assert len(client._session.pool) == 0  # the half-read connection was not pooled
    assert settle_fds(baseline) <= baseline  # closed by the stream, not left for the GC


def test_keyboard_interrupt_mid_stream_closes_the_connection_sync(server: Any) -> None:
    baseline = baseline_fds()
    client = wire.sync.Client("k", base_url=server.base_url, proxy=None)
    got = InterruptAt(3)

    def read() -> None:
        with client.stream_message(model=MODEL, max_tokens=200, messages=USER) as stream:
            for event in stream:
                got.append(event)

    with pytest.raises(KeyboardInterrupt):
        read()
    assert len(got) == 3
    assert len(client._session.pool) == 0
    client.close()
    assert settle_fds(baseline) <= baseline
