"""A `ClientConnection` wired to an h11 server peer (h11's `ConnectionPair` idea).

Every HTTP test goes through `Link` instead of writing its own send/receive
loop: the client's request bytes reach the server, which checks them; the
server's response bytes reach the client in whatever chunking the test asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import h11

from wire._connection import ClientConnection, ResponseEvent
from wire.builders import Request

Headers = Sequence[tuple[str, str]]


def response_bytes(
    status: int,
    headers: Headers = (),
    body: bytes = b"",
    *,
    chunked: bool = False,
    pieces: int = 1,
) -> bytes:
    """A response to a GET as an h11 server writes it (content-length or chunked framing)."""
    link = Link()
    link.send(Request("GET", "/", ()))
    return link.respond(status, headers, body, chunked=chunked, pieces=pieces)


class Link:
    """A client and a server on one in-memory connection.

    `send(request)` passes the client's bytes to the server and returns what it
    received; `respond(...)` makes the server's answer; `deliver(raw, chunks)`
    feeds bytes to the client and collects its events.
    """

    def __init__(self, host: str = "api.test", **options: Any) -> None:
        self.client = ClientConnection(host, **options)
        self.server = h11.Connection(h11.SERVER)

    def send(self, request: Request) -> tuple[h11.Request, bytes]:
        """Send `request`; the server's view of it: the head and the body bytes."""
        self.server.receive_data(self.client.send_request(request))
        head = self.server.next_event()
        assert isinstance(head, h11.Request)
        body = bytearray()
        while True:
            event = self.server.next_event()
            if isinstance(event, h11.Data):
                body += event.data
            else:
                assert isinstance(event, h11.EndOfMessage), event
                return head, bytes(body)

    def respond(
        self,
        status: int,
        headers: Headers = (),
        body: bytes = b"",
        *,
        chunked: bool = False,
        pieces: int = 1,
    ) -> bytes:
        """The server's response bytes: `body` in `pieces` writes, content-length or chunked."""
        server = self.server
        framing = [("transfer-encoding", "chunked")] if chunked else []
        if not chunked and not any(k.lower() == "content-length" for k, _ in headers):
            framing = [("content-length", str(len(body)))]
        out = server.send(h11.Response(status_code=status, headers=[*headers, *framing])) or b""
        step = max(1, -(-len(body) // pieces))
        for i in range(0, len(body), step):
            out += server.send(h11.Data(data=body[i : i + step])) or b""
        out += server.send(h11.EndOfMessage()) or b""
        if server.our_state is h11.DONE and server.their_state is h11.DONE:
            server.start_next_cycle()
        return out

    def deliver(
        self, raw: bytes, chunks: Iterable[bytes] | None = None, *, eof: bool = False
    ) -> list[ResponseEvent]:
        """Feed `raw` (or its `chunks`) to the client, then end of file if `eof`; the events."""
        events: list[ResponseEvent] = []
        for chunk in [raw] if chunks is None else chunks:
            events.extend(self.client.receive_data(chunk))
        if eof:
            events.extend(self.client.receive_data(b""))
        return events

    def exchange(
        self,
        request: Request,
        status: int,
        headers: Headers = (),
        body: bytes = b"",
        *,
        chunked: bool = False,
        pieces: int = 1,
        chunks: Iterable[bytes] | None = None,
        eof: bool = False,
    ) -> list[ResponseEvent]:
        """One request and its response; the client's events."""
        self.send(request)
        raw = self.respond(status, headers, body, chunked=chunked, pieces=pieces)
        return self.deliver(raw, chunks, eof=eof)
