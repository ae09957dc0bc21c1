"""`wire.asyncio.Client`: the asyncio driver (stdlib asyncio streams).

Layer: driver. Rule: no protocol logic here. The sans-IO `Call` (`wire._call`)
decides; this module moves bytes (`asyncio.open_connection`,
`StreamWriter.start_tls`), sleeps, and enforces the deadline each action
names (`asyncio.timeout_at`). The call's clock is the running loop's,
`loop.time()`. The methods and the stream object are `wire._async`'s, shared
with `wire.trio`.

Many tasks of one event loop may share a client (the pool is touched only
between awaits). Cancellation, KeyboardInterrupt or leaving a stream early
aborts the connection in use: it never goes back to the pool half-read.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import Mapping
from typing import Any

from wire._async import AsyncClient, AsyncMessageStream
from wire._call import Action, Call, Close, Connect, Receive, Send, Sleep, StartTLS

__all__ = ["Client", "MessageStream"]

MessageStream = AsyncMessageStream
_READ_SIZE = 64 * 1024
_Handle = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Client(AsyncClient):
    """An async client for the Messages API on asyncio (see DESIGN.md "Drivers").

    `async with wire.asyncio.Client(...) as client:`, or `await client.aclose()`.
    """

    _driver = "wire.asyncio"

    def _environ(self) -> Mapping[str, str]:
        return os.environ

    def _wall(self) -> float:
        return time.time()

    def _default_tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        context.set_alpn_protocols(["http/1.1"])
        return context

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def _close(self, handle: _Handle) -> None:
        handle[1].transport.abort()  # at once: no TLS close_notify, no waiting

    async def _do(self, call: Call[Any], action: Action) -> Action:
        if isinstance(action, Sleep):
            await asyncio.sleep(max(0.0, action.until - self._now()))
            return call.next(self._now())
        if isinstance(action, Close):
            await self._close(action.handle)
            return call.next(self._now())
        try:
            async with asyncio.timeout_at(getattr(action, "deadline", None)):
                return await self._io(call, action)
        except TimeoutError:
            return call.timed_out(self._now())
        except (OSError, EOFError) as exc:  # refused, reset, DNS, TLS verification ...
            return call.failed(exc, self._now())

    async def _io(self, call: Call[Any], action: Action) -> Action:
        """One I/O action, with no deadline of its own (`_do` holds it)."""
        if isinstance(action, Receive):
            return call.received(await action.handle[0].read(_READ_SIZE), self._now())
        if isinstance(action, Send):
            action.handle[1].write(action.data)
            await action.handle[1].drain()
            return call.next(self._now())
        if isinstance(action, Connect):
            handle = await asyncio.open_connection(action.host, action.port, limit=_READ_SIZE)
            return call.connected(handle, self._now())
        assert isinstance(action, StartTLS)
        name = action.server_hostname
        await action.handle[1].start_tls(self._ssl, server_hostname=name)
        return call.connected(action.handle, self._now())
