"""One server-side HTTP/1.1 connection of the kit's sans-IO servers (emulator, replay):
requests read with h11 within the kit's bounds (`_http.py`), `Expect: 100-continue`
answered, a request that cannot be read refused with the API's error envelope.
How to answer (the emulator's lazy actions, the replay's timed plan) is a subclass's.

Layer: testing kit; h11 values only (no socket, no event loop).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TypeAlias

import h11

from wire.testing._http import MAX_HEAD_BYTES, MAX_REQUEST_BYTES, body_limit, refusal

__all__ = ["ACTIONS_PER_STEP", "Action", "Close", "Send", "ServerConnection", "Sleep"]

# How many actions one `receive_data`/`next_actions` call returns at most: a big
# reply goes out in bounded batches, never built whole.
ACTIONS_PER_STEP = 64


@dataclass(frozen=True)
class Send:
    """Write these bytes."""

    data: bytes


@dataclass(frozen=True)
class Sleep:
    """Pause this long (seconds) before the next action."""

    seconds: float


@dataclass(frozen=True)
class Close:
    """Close the connection."""


Action: TypeAlias = Send | Sleep | Close


class ServerConnection(ABC):
    """Bytes in (`receive_data`), actions out; `next_actions` while a subclass's `pending`."""

    name = "server"  # who answers: refusals say `server: wire-{name}`

    def __init__(self) -> None:
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._request: h11.Request | None = None
        self._body = bytearray()
        self._limit = MAX_REQUEST_BYTES  # the body size this request may have
        self._head_sent = False  # the answer's head is out: a failure can only close
        self.closed = False

    def receive_data(self, data: bytes, now: float) -> list[Action]:
        """Take bytes from the client (b"" at EOF); return the first actions to carry out."""
        if self.closed:
            return []
        try:
            self._h11.receive_data(data)
        except RuntimeError:  # bytes after the client's EOF: nothing more can be read
            self.closed = True
            return [Close()]
        return self._step(now)

    def next_actions(self, now: float) -> list[Action]:
        """The next actions while `pending` (then pipelined requests, if any)."""
        if self.closed:
            return []
        return self._step(now)

    @abstractmethod
    def _step(self, now: float) -> list[Action]:
        """Up to `ACTIONS_PER_STEP` actions: the answer under way, else `_next_event`."""

    @abstractmethod
    def _respond(self, body: bytes, now: float) -> None:
        """Begin the answer to `self._request`, whose whole body is `body`."""

    @abstractmethod
    def _drop(self) -> None:
        """Forget the answer under way (it ended, or the connection is closing)."""

    @abstractmethod
    def _new_id(self) -> str:
        """A request id for a refusal."""

    @abstractmethod
    def _failed(self, exc: Exception) -> None:
        """Keep an internal failure this connection contained."""

    def _before_body(self, now: float) -> bool:
        """Whether the request waiting for `100 Continue` was answered from its head."""
        return False

    def _next_event(self, now: float, actions: list[Action]) -> bool:
        """Handle one h11 event; False when more bytes are needed."""
        try:
            event = self._h11.next_event()
        except h11.RemoteProtocolError as exc:
            status = exc.error_status_hint if 400 <= exc.error_status_hint < 500 else 400
            actions += self._refuse(status, "invalid_request_error", "malformed HTTP request")
            return False
        if event is h11.NEED_DATA or event is h11.PAUSED:
            return False
        if isinstance(event, h11.Request):
            self._request, self._body, self._head_sent = event, bytearray(), False
            self._limit = body_limit(event)
            actions += self._head_received(event, now)
        elif isinstance(event, h11.Data):
            self._body += event.data
            if len(self._body) > self._limit:
                actions += self._too_large()
        elif isinstance(event, h11.EndOfMessage):
            self._respond(bytes(self._body), now)
            self._body = bytearray()
        elif isinstance(event, h11.ConnectionClosed):
            actions.append(Close())
            self.closed = True
        return True

    def _head_received(self, event: h11.Request, now: float) -> list[Action]:
        """Refuse a body declared too large; answer `Expect: 100-continue` at once."""
        length = next((v for k, v in event.headers if k == b"content-length"), None)
        if length is not None and int(length) > self._limit:
            return self._too_large()
        if not self._h11.they_are_waiting_for_100_continue or self._before_body(now):
            return []
        continuing = h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
        return [Send(self._h11.send(continuing) or b"")]

    def _finish(self) -> None:
        """The answer is all out: read the next request, if the connection goes on."""
        self._drop()
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()

    def _too_large(self) -> list[Action]:
        megabytes = self._limit // 1_000_000
        return self._refuse(413, "request_too_large", f"request body is larger than {megabytes} MB")

    def _refuse(self, status: int, error_type: str, message: str) -> list[Action]:
        """An error envelope, then close (the request cannot be read on)."""
        self.closed = True
        self._drop()
        request_id = self._new_id()
        return [
            Send(refusal(status, error_type, message, request_id, f"wire-{self.name}")),
            Close(),
        ]

    def _internal_error(self, exc: Exception) -> list[Action]:
        """A failure inside the server: a 500 `api_error`, or a close once the head is out."""
        self._failed(exc)
        if self._head_sent:
            self._drop()
            self.closed = True
            return [Close()]
        return self._refuse(500, "api_error", f"internal error in the {self.name}")
