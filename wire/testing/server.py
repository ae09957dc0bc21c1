"""The emulator on a real socket: trio runs `EmulatorConnection`s and carries out their actions.

`serve()` runs it in a background thread for tests (sync or async alike):

    with wire.testing.serve() as server:       # 127.0.0.1, a free port
        client = SomeClient(base_url=server.base_url, api_key="test")

`run()` serves in the foreground (`wire serve`). Only loopback is meant: the
emulator accepts any key unless given one. With `ssl_context` (a server-side
`ssl.SSLContext` holding a certificate) it speaks HTTPS; a client whose handshake
fails affects only its own connection.

With `replay=PATH` (a capture file, or a loaded `wire.testing.replay.Replay`) the
server answers from the capture instead of the emulator, at the recorded pace
scaled by `speed` (docs/replay.md); the runtime below runs either unchanged.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import trio

from wire.testing.emulator import Close, Emulator, EmulatorConnection, Send, Sleep
from wire.testing.replay import Replay, ReplayConnection

__all__ = ["Server", "run", "serve"]

_READ_SIZE = 64 * 1024


class Server:
    """A running server: `base_url`, `host`, `port`, and its `emulator` (state, counters):
    an `Emulator`, or the `Replay` it answers from when serving a capture."""

    def __init__(
        self,
        emulator: Emulator | Replay,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self._cancel: trio.CancelScope | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "http" if self.ssl_context is None else "https"
        return f"{scheme}://{host}:{self.port}"

    async def _main(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        tcp = await trio.open_tcp_listeners(self.port, host=self.host)
        self.port = tcp[0].socket.getsockname()[1]
        listeners: list[trio.abc.Listener[Any]] = list(tcp)
        if self.ssl_context is not None:
            # The handshake happens on the connection's first read, inside `_handle`, so
            # a client that fails or stalls it holds up only itself. `https_compatible`:
            # HTTPS clients often close without a close_notify, which is not an error.
            listeners = [
                trio.SSLListener(listener, self.ssl_context, https_compatible=True)
                for listener in tcp
            ]
        self._token = trio.lowlevel.current_trio_token()
        with trio.CancelScope() as scope:
            self._cancel = scope
            async with trio.open_nursery() as nursery:
                await nursery.start(trio.serve_listeners, self._handle, listeners)
                self._ready.set()
                task_status.started()

    async def _handle(self, stream: trio.abc.Stream) -> None:
        """Serve one connection; whatever goes wrong stays in it (kept in `emulator.failures`).

        A client that goes away, or fails the TLS handshake, just ends its connection.
        """
        connection = self.emulator.connection()
        try:
            async with stream:
                await self._converse(connection, stream)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client went away, or its TLS handshake failed (trio wraps ssl errors)
        except Exception as exc:  # an emulator bug: this connection ends, the others go on
            self.emulator.failed(exc)

    async def _converse(
        self, connection: EmulatorConnection | ReplayConnection, stream: trio.abc.Stream
    ) -> None:
        while not connection.closed:
            data = bytes(await stream.receive_some(_READ_SIZE))  # SSLStream: a bytearray
            actions = connection.receive_data(data, time.time())
            while True:  # a response goes out in bounded batches, checkpointing at each send
                for action in actions:
                    if isinstance(action, Send):
                        await stream.send_all(action.data)
                    elif isinstance(action, Sleep):
                        await trio.sleep(action.seconds)
                    elif isinstance(action, Close):
                        return
                if not connection.pending:
                    break
                actions = connection.next_actions(time.time())
            if not data:
                return

    def _thread(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # reported to the thread that waits for readiness
            self._error = exc
            self._ready.set()

    def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._token is not None and self._cancel is not None:
            with suppress(trio.RunFinishedError):
                self._token.run_sync_soon(self._cancel.cancel)


Capture = str | os.PathLike[str] | Replay


def _server(
    host: str,
    port: int,
    api_key: str | None,
    seed: int,
    ssl_context: ssl.SSLContext | None,
    options: dict[str, Any],
    replay: Capture | None = None,
    speed: float = 1.0,
) -> Server:
    if replay is not None:
        if api_key is not None or options:
            unused = ", ".join(["api_key"] * (api_key is not None) + sorted(options))
            raise ValueError(f"a replay takes none of the emulator's options ({unused})")
        if not isinstance(replay, Replay):
            replay = Replay.load(replay, speed=speed)
        return Server(replay, host, port, ssl_context)
    scheme = "https" if ssl_context is not None else "http"
    emulator = Emulator(api_key=api_key, seed=seed, scheme=scheme, **options)
    return Server(emulator, host, port, ssl_context)


@contextmanager
def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    api_key: str | None = None,
    seed: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    replay: Capture | None = None,
    speed: float = 1.0,
    **options: Any,
) -> Iterator[Server]:
    """Run the emulator in a background thread for the duration of the `with` block.

    `options` go to `Emulator` (`batch_seconds`, `pace`, rate limits, `lenient=True` to
    accept any well-formed request instead of validating as the API does). With
    `ssl_context` (server side, with a certificate loaded) it serves HTTPS and
    `base_url` starts with `https://`. With `replay` (a capture file's path, or a
    `Replay`) it answers from the capture instead, `speed` times the recorded pace
    (0: as fast as possible); `api_key` and `options` do not apply. A failure
    inside the emulator never stops it serving; it is re-raised when the block
    exits (unless the block itself raised): the first of `emulator.failures`, or
    what stopped the server.
    """
    server = _server(host, port, api_key, seed, ssl_context, options, replay, speed)
    thread = threading.Thread(target=server._thread, name="wire-emulator", daemon=True)
    thread.start()
    if not server._ready.wait(timeout=30):
        raise RuntimeError("the emulator did not start within 30 s")
    if server._error is not None:
        raise RuntimeError(f"the emulator could not start: {server._error}") from server._error
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=30)
    if server._error is not None:
        raise server._error
    if server.emulator.failures:
        raise server.emulator.failures[0]


def run(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    api_key: str | None = None,
    seed: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    on_ready: Any = None,
    replay: Capture | None = None,
    speed: float = 1.0,
    **options: Any,
) -> None:
    """Serve in the foreground until interrupted; `on_ready(server)` is called once listening."""
    server = _server(host, port, api_key, seed, ssl_context, options, replay, speed)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(server._main)
            if on_ready is not None:
                on_ready(server)

    trio.run(main)
