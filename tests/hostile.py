"""A hostile server for the tests: a scripted raw socket on loopback, in a thread.

    with Hostile(endless_header_lines) as server:   # server.base_url, server.connections
        ... a client calls server.base_url ...

Each connection it accepts runs the script, `script(peer)`, in its own thread:
`peer.read_request()` takes the client's request (head and body), `peer.send(data)`
writes. Everything is bounded and self-stopping: a send fails (`Stopped`) once
the client has gone, the server is leaving its `with` block, or the connection
has lived `lifetime` seconds; leaving the block closes every socket and joins
every thread. `tls=True` gives an `https://` base URL with a peer that never
speaks TLS (the handshake stalls). The scripts are the misbehaviours
tests/test_hostile.py runs against every driver: `SCRIPTS` answer a streamed
request, `JSON_SCRIPTS` a plain one, and `PROXY_SCRIPTS` play a forward proxy
answering CONNECT.
"""

from __future__ import annotations

import socket
import threading
import time
import zlib
from collections.abc import Callable
from types import TracebackType

__all__ = ["JSON_SCRIPTS", "PROXY_SCRIPTS", "SCRIPTS", "Hostile", "Peer", "Script", "Stopped"]

_POLL = 0.05  # how often a blocked peer looks at the stop flag


class Stopped(Exception):
    """The client went away, or the server is stopping: the script should end."""


class Peer:
    """One accepted connection, as a script sees it."""

    def __init__(self, sock: socket.socket, stop: threading.Event, lifetime: float) -> None:
        self.sock = sock
        self._stop = stop
        self._until = time.monotonic() + lifetime
        sock.settimeout(_POLL)

    def _check(self) -> None:
        if self._stop.is_set() or time.monotonic() > self._until:
            raise Stopped

    def recv(self) -> bytes:
        """Some bytes from the client (b"" when it closed)."""
        while True:
            self._check()
            try:
                return self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                raise Stopped from exc

    def read_request(self) -> bytes:
        """The client's request head, and as much body as its content-length says."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.recv()
            if not chunk:
                raise Stopped
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = self.recv()
            if not chunk:
                raise Stopped
            body += chunk
        return head

    def send(self, data: bytes) -> None:
        """Send all of `data`; `Stopped` once the client is gone or the server stops."""
        view = memoryview(data)
        while view:
            self._check()
            try:
                sent = self.sock.send(view)
            except TimeoutError:
                continue
            except OSError as exc:
                raise Stopped from exc
            view = view[sent:]

    def forever(self, data: bytes) -> None:
        """Send `data` again and again until stopped."""
        while True:
            self.send(data)

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._check()
            time.sleep(min(left, _POLL))

    def stall(self) -> None:
        """Say nothing until stopped (reading and dropping what comes, until the client closes)."""
        while self.recv():
            pass
        raise Stopped


Script = Callable[[Peer], None]


class Hostile:
    """Runs `script` for every connection accepted on 127.0.0.1 (see the module doc)."""

    def __init__(self, script: Script, *, tls: bool = False, lifetime: float = 15.0) -> None:
        self.script = script
        self.lifetime = lifetime
        self.connections = 0
        self.errors: list[BaseException] = []  # failures of a script (not a `Stopped`)
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_POLL)
        self.port: int = self._listener.getsockname()[1]
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Hostile:
        accept = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)
        self._threads.append(accept)
        accept.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        with self._lock:
            threads, socks = list(self._threads), list(self._socks)
        for thread in threads:
            thread.join(timeout=5)
        for sock in socks:
            sock.close()
        self._listener.close()
        if any(thread.is_alive() for thread in threads):
            raise RuntimeError("a hostile-server thread did not stop")

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._socks.append(sock)
                thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            self.script(Peer(sock, self._stop, self.lifetime))
        except Stopped:
            pass
        except BaseException as exc:  # reported by the test that looks at `errors`
            self.errors.append(exc)
        finally:
            sock.close()


# --- the misbehaviours ---------------------------------------------------------------------

SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nrequest-id: req_hostile\r\n"
MESSAGE_START = (
    b"event: message_start\r\ndata: "
    b'{"type":"message_start","message":{"id":"msg_hostile","type":"message",'
    b'"role":"assistant","model":"claude-opus-4-6","content":[],"stop_reason":null,'
    b'"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}\r\n\r\n'
)
TEXT_START = (
    b"event: content_block_start\r\ndata: "
    b'{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\r\n\r\n'
)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def endless_header_lines(peer: Peer) -> None:
    peer.read_request()
    peer.send(b"HTTP/1.1 200 OK\r\n")
    peer.forever(b"x-hostile: another header line\r\n" * 64)


def megabyte_header_line(peer: Peer) -> None:
    peer.read_request()
    peer.send(b"HTTP/1.1 200 OK\r\nx-hostile: " + b"a" * (1 << 20) + b"\r\n\r\n")
    peer.stall()


def huge_chunk_size(peer: Peer) -> None:
    """A chunk that claims 2**63 bytes, a stream's start and a megabyte of comments; a close."""
    peer.read_request()
    peer.send(SSE_HEAD + b"transfer-encoding: chunked\r\n\r\n" + b"%x\r\n" % (1 << 63))
    peer.send(MESSAGE_START + TEXT_START)
    for _ in range(16):
        peer.send(b": a comment in a chunk that claims 2**63 bytes\r\n" * 1365)


def broken_chunked_framing(peer: Peer) -> None:
    peer.read_request()
    peer.send(SSE_HEAD + b"transfer-encoding: chunked\r\n\r\n" + _chunk(MESSAGE_START))
    peer.send(b"zz-not-hex\r\n" + TEXT_START + b"\r\n")
    peer.stall()


def _bomb() -> bytes:
    """A gzip member of 64 MiB of zeros (about 64 KiB compressed: a ratio near 1000)."""
    out = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip wrapper
    block = bytes(1 << 20)
    parts = [out.compress(block) for _ in range(64)]
    return b"".join(parts) + out.flush()


_BOMB: list[bytes] = []


def gzip_bomb(peer: Peer) -> None:
    if not _BOMB:
        _BOMB.append(_bomb())
    peer.read_request()
    head = SSE_HEAD + b"content-encoding: gzip\r\ncontent-length: %d\r\n\r\n" % len(_BOMB[0])
    peer.send(head + _BOMB[0])
    peer.stall()


def line_never_ends(peer: Peer) -> None:
    peer.read_request()
    peer.send(SSE_HEAD + b"\r\n" + MESSAGE_START + b"data: ")
    peer.forever(b"a" * 65536)


def event_never_ends(peer: Peer) -> None:
    peer.read_request()
    peer.send(SSE_HEAD + b"\r\n" + MESSAGE_START)
    peer.forever(b"data: " + b"e" * 65536 + b"\r\n")  # long lines, each well under the limit


def no_status_line(peer: Peer) -> None:
    peer.read_request()
    peer.send(b"content-type: application/json\r\n\r\n{}")
    peer.stall()


def informational_storm(peer: Peer) -> None:
    peer.read_request()
    peer.forever(b"HTTP/1.1 102 Processing\r\n\r\n" * 256)


def byte_per_second(peer: Peer) -> None:
    """A real start, then a content event that trickles in one byte a second."""
    peer.read_request()
    peer.send(SSE_HEAD + b"\r\n" + MESSAGE_START + TEXT_START)
    delta = (
        b"event: content_block_delta\r\ndata: "
        b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}'
        b"\r\n\r\n"
    )
    for byte in delta:
        peer.send(bytes([byte]))
        peer.sleep(1.0)
    peer.stall()


def tls_handshake_stalls(peer: Peer) -> None:
    peer.stall()  # takes the ClientHello and never answers it


# Answers to a plain JSON request (create_message without streaming).

JSON_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"


def json_never_ends(peer: Peer) -> None:
    """A content-length of 2**62, and a JSON array that keeps coming."""
    peer.read_request()
    peer.send(JSON_HEAD + b"content-length: %d\r\n\r\n[" % (1 << 62))
    peer.forever(b"0," * 32768)


def json_bomb(peer: Peer) -> None:
    if not _BOMB:
        _BOMB.append(_bomb())
    peer.read_request()
    head = JSON_HEAD + b"content-encoding: gzip\r\ncontent-length: %d\r\n\r\n" % len(_BOMB[0])
    peer.send(head + _BOMB[0])
    peer.stall()


def error_page_never_ends(peer: Peer) -> None:
    """A 529 whose (chunked, HTML) error page keeps coming: it is buffered, so it is bounded."""
    peer.read_request()
    peer.send(b"HTTP/1.1 529 Overloaded\r\ncontent-type: text/html\r\n")
    peer.send(b"transfer-encoding: chunked\r\n\r\n")
    peer.forever(_chunk(b"<p>overloaded</p>" * 4096))


# Proxies answering CONNECT (the client's target is https://).


def proxy_stalls(peer: Peer) -> None:
    peer.stall()


def proxy_endless_header_lines(peer: Peer) -> None:
    peer.read_request()
    peer.send(b"HTTP/1.1 200 Connection established\r\n")
    peer.forever(b"x-hostile: another header line\r\n" * 64)


def proxy_informational_storm(peer: Peer) -> None:
    peer.read_request()
    peer.forever(b"HTTP/1.1 100 Continue\r\n\r\n" * 256)


def proxy_speaks_first(peer: Peer) -> None:
    """The tunnel opens with bytes already in it: not the TLS peer's, so refused."""
    peer.read_request()
    peer.send(b"HTTP/1.1 200 Connection established\r\n\r\nHELLO")
    peer.stall()


def proxy_no_status_line(peer: Peer) -> None:
    peer.read_request()
    peer.send(b"\x16\x03\x01 not an answer\r\n\r\n")
    peer.stall()


def proxy_hangs_up(peer: Peer) -> None:
    peer.read_request()


SCRIPTS: dict[str, Script] = {
    "endless header lines": endless_header_lines,
    "1 MiB header line": megabyte_header_line,
    "chunk size 2**63": huge_chunk_size,
    "broken chunked framing": broken_chunked_framing,
    "gzip bomb": gzip_bomb,
    "a line that never ends": line_never_ends,
    "an event that never ends": event_never_ends,
    "no status line": no_status_line,
    "1xx storm": informational_storm,
    "one byte per second after message_start": byte_per_second,
    "TLS handshake stalls": tls_handshake_stalls,
}

JSON_SCRIPTS: dict[str, Script] = {
    "JSON that never ends": json_never_ends,
    "gzip bomb as JSON": json_bomb,
    "an error page that never ends": error_page_never_ends,
}

PROXY_SCRIPTS: dict[str, Script] = {
    "proxy stalls": proxy_stalls,
    "proxy sends endless header lines": proxy_endless_header_lines,
    "proxy 1xx storm": proxy_informational_storm,
    "proxy speaks first in the tunnel": proxy_speaks_first,
    "proxy sends no status line": proxy_no_status_line,
    "proxy hangs up": proxy_hangs_up,
}
