"""`wire.trio.Client`: the trio driver.

Layer: driver. Rule: no protocol logic here. The sans-IO `Call` (`wire._call`)
decides; this module moves bytes (`trio.open_tcp_stream`, `trio.SSLStream`),
sleeps (`trio.sleep_until`) and enforces the deadline each action names
(`trio.move_on_at`). The call's clock is trio's, `trio.current_time()`, so a
test's `trio.testing.MockClock` drives retries and timeouts too. The methods
and the stream object are `wire._async`'s, shared with `wire.asyncio`.

Many tasks may share one client (the pool is touched only between awaits).
Cancellation, KeyboardInterrupt or leaving a stream early closes the
connection in use (`trio.aclose_forcefully`): it never goes back half-read.
"""

from __future__ import annotations

import math
import os
import ssl
import time
from collections.abc import Mapping
from typing import Any

import trio

from ._async import AsyncClient, AsyncMessageStream
from ._call import Action, Call, Close, Connect, Receive, Send, Sleep, StartTLS

__all__ = ["Client", "MessageStream"]

MessageStream = AsyncMessageStream
_READ_SIZE = 64 * 1024
# What trio raises for a failed connection: a broken or closed stream, or the OS's error.
_FAILURES = (OSError, trio.BrokenResourceError, trio.ClosedResourceError)


class Client(AsyncClient):
    """An async client for the Messages API on trio (see DESIGN.md "Drivers" for the contract).

    `async with wire.trio.Client(...) as client:`, or `await client.aclose()`.
    """

    _driver = "wire.trio"

    def _environ(self) -> Mapping[str, str]:
        return os.environ

    def _wall(self) -> float:
        return time.time()

    def _default_tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        context.set_alpn_protocols(["http/1.1"])
        return context

    def _now(self) -> float:
        return trio.current_time()

    async def _close(self, handle: Any) -> None:
        await trio.aclose_forcefully(handle)

    async def _do(self, call: Call[Any], action: Action) -> Action:
        if isinstance(action, Sleep):
            await trio.sleep_until(action.until)
            return call.next(self._now())
        if isinstance(action, Close):
            await self._close(action.handle)
            return call.next(self._now())
        deadline = getattr(action, "deadline", None)
        with trio.move_on_at(math.inf if deadline is None else deadline):
            try:
                return await self._io(call, action)
            except _FAILURES as exc:  # refused, reset, DNS, TLS verification ...
                cause = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) else None
                return call.failed(cause or exc, self._now())
        return call.timed_out(self._now())

    async def _io(self, call: Call[Any], action: Action) -> Action:
        """One I/O action, with no deadline of its own (`_do` holds it)."""
        if isinstance(action, Receive):
            return call.received(await action.handle.receive_some(_READ_SIZE), self._now())
        if isinstance(action, Send):
            await action.handle.send_all(action.data)
            return call.next(self._now())
        if isinstance(action, Connect):
            stream = await trio.open_tcp_stream(action.host, action.port)
            return call.connected(stream, self._now())
        assert isinstance(action, StartTLS)
        assert self._ssl is not None
        tls = trio.SSLStream(
            action.handle, self._ssl, server_hostname=action.server_hostname, https_compatible=True
        )
        await tls.do_handshake()
        return call.connected(tls, self._now())
