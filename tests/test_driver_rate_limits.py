"""The drivers keep the last `RateLimits` seen per model class (`client.rate_limits`).

Against the emulator on loopback; only "the headers of a response to model M are
stored under model_class(M)" is relied on, not the emulator's figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import trio

import wire
import wire.asyncio
import wire.sync
import wire.trio
from wire.testing import serve

USER = [{"role": "user", "content": "Hello"}]
OPUS, HAIKU = "claude-opus-4-6", "claude-haiku-4-5"


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with serve() as running:
        yield running


def check(client: Any, opus: wire.RateLimits, haiku: wire.RateLimits) -> None:
    limits = client.rate_limits
    assert dict(limits) == {"opus-4": opus, "haiku-4": haiku}
    assert opus.requests.limit is not None
    with pytest.raises(TypeError):
        limits["opus-4"] = haiku  # read-only


def test_sync(server: Any) -> None:
    limiter = wire.Limiter()
    with wire.sync.Client("sk-test", base_url=server.base_url, proxy=None, limiter=limiter) as c:
        assert dict(c.rate_limits) == {}
        with c.stream_message(model=OPUS, max_tokens=20, messages=USER) as stream:
            for _ in stream:
                pass
            assert stream.response is not None
            opus = stream.response.rate_limits
        with c.stream_message(model=HAIKU, max_tokens=20, messages=USER) as stream:
            for _ in stream:
                pass
            assert stream.response is not None
            haiku = stream.response.rate_limits
        c.count_tokens(model=OPUS, messages=USER)  # not a message: keeps nothing
        check(c, opus, haiku)
    assert "opus-4: (requests=" in repr(limiter)
    assert "haiku-4: (requests=" in repr(limiter)


async def heads(client: Any) -> tuple[wire.RateLimits, wire.RateLimits]:
    found = []
    for model in (OPUS, HAIKU):
        async with client.stream_message(model=model, max_tokens=20, messages=USER) as stream:
            async for _ in stream:
                pass
            found.append(stream.response.rate_limits)
    return found[0], found[1]


def test_trio(server: Any) -> None:
    async def main() -> None:
        async with wire.trio.Client("sk-test", base_url=server.base_url, proxy=None) as c:
            check(c, *await heads(c))

    trio.run(main)


def test_asyncio(server: Any) -> None:
    async def main() -> None:
        async with wire.asyncio.Client("sk-test", base_url=server.base_url, proxy=None) as c:
            check(c, *await heads(c))

    asyncio.run(main())
