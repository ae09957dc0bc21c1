"""Replay a capture, sans-IO: request bytes in, the recorded answer out as actions.

`Replay` holds what every connection shares: the recorded exchanges, indexed by
their matching key, and how often each key was answered. `Replay.connection()`
is one HTTP/1.1 server connection over h11 whose `receive_data(data, now)` and
`next_actions(now)` return the emulator's own actions (`Send`, `Sleep`,
`Close`), so `wire.testing.server` runs either one unchanged.

The matching rule (docs/replay.md): a request matches a recording with the same
method, the same path, the same query parameters in any order, and the same
body: compared as parsed JSON when both parse (key order and whitespace do not
matter), byte for byte otherwise. Headers take no part. A request recorded
several times gets the recordings in their recorded order, then the last one
again and again. An unmatched request gets a 404 `not_found_error` naming the
closest recording and what differs.

An answer is the recorded status, reason and headers, then one `Send` per
recorded read, each due at the request's arrival plus its recorded time divided
by `speed` (0: all at once). Every `Sleep` is computed from the `now` of the
call that returns it, so a slow runtime never accumulates drift. A complete
JSON body goes out with `content-length`; an event stream, and any body the
upstream cut short, goes out chunked, and a cut-off closes the connection after
the recorded bytes, as the client saw it.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import h11

from wire.testing._http import api_id, error_envelope, refusal
from wire.testing._server_connection import (
    ACTIONS_PER_STEP,
    Action,
    Close,
    Send,
    ServerConnection,
    Sleep,
)
from wire.testing.capture import (
    DEFAULT_MAX_CAPTURE_BYTES,
    DEFAULT_MAX_LINE_BYTES,
    FRAMING_HEADERS,
    Exchange,
    read_capture,
)

__all__ = ["Replay", "ReplayConnection"]

# Unmatched requests kept in `Replay.misses` (the first ones: each is a test to look at).
_MAX_MISSES = 100
_MAX_FAILURES = 100
# How deep the 404's "what differs" walks into two JSON bodies.
_DIFF_DEPTH = 32


# -- matching --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    """What a request is matched on; `body` is canonical JSON (b"J...") or the raw bytes."""

    method: str
    path: str
    query: tuple[str, ...]
    body: bytes

    @classmethod
    def of(cls, method: str, target: str, body: bytes) -> _Key:
        path, _, query = target.partition("?")
        params = tuple(sorted(p for p in query.split("&") if p))
        return cls(method, path, params, _canonical(body))

    def differences(self, other: _Key) -> list[str]:
        return [
            name
            for name in ("method", "path", "query", "body")
            if getattr(self, name) != getattr(other, name)
        ]


def _canonical(body: bytes) -> bytes:
    """A JSON body written with sorted keys and no spaces, so equal JSON gives equal bytes."""
    if body.lstrip()[:1] in (b"{", b"["):
        try:
            value = json.loads(body)
            text = json.dumps(value, sort_keys=True, separators=(",", ":"))
            return b"J" + text.encode("ascii")
        except (ValueError, RecursionError):
            pass
    return b"B" + body


def _json_difference(recorded: Any, received: Any, where: str = "$", depth: int = 0) -> str:
    """Where two JSON values first differ, as a JSONPath-like place and the two values."""
    if depth < _DIFF_DEPTH:
        if isinstance(recorded, dict) and isinstance(received, dict):
            for key in sorted(recorded.keys() | received.keys()):
                if recorded.get(key, ...) != received.get(key, ...):
                    if key not in received:
                        return f"{where}.{key} is missing here"
                    if key not in recorded:
                        return f"{where}.{key} was not recorded"
                    return _json_difference(
                        recorded[key], received[key], f"{where}.{key}", depth + 1
                    )
        if isinstance(recorded, list) and isinstance(received, list):
            if len(recorded) != len(received):
                return f"{where} has {len(received)} items, {len(recorded)} recorded"
            for index, (old, new) in enumerate(zip(recorded, received, strict=True)):
                if old != new:
                    return _json_difference(old, new, f"{where}[{index}]", depth + 1)
    return f"{where} is {_short(received)}, {_short(recorded)} recorded"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _body_difference(recorded: bytes, received: bytes) -> str:
    if recorded.startswith(b"J") and received.startswith(b"J"):
        return "its body differs: " + _json_difference(
            json.loads(recorded[1:]), json.loads(received[1:])
        )
    return f"its body differs ({len(received) - 1} bytes here, {len(recorded) - 1} recorded)"


# -- the replay ------------------------------------------------------------------------------


class Replay:
    """The recorded exchanges a replay server answers from (shared by its connections).

    `speed`: 1.0 replays at the recorded pace, 10 ten times faster, 0 as fast as
    possible. `requests_seen` counts the requests answered; `misses` keeps the
    404 messages of unmatched requests (the first hundred); a failure inside the
    replay is kept in `failures` and never escapes a connection.
    """

    def __init__(self, exchanges: Iterable[Exchange], *, speed: float = 1.0) -> None:
        if not (isinstance(speed, int | float) and math.isfinite(speed) and speed >= 0):
            raise ValueError(f"speed must be a finite number >= 0, not {speed!r}")
        self.speed = float(speed)
        self.exchanges = list(exchanges)
        requests = [exchange.request for exchange in self.exchanges]
        self._keys = [_Key.of(r.method, r.target, r.body) for r in requests]
        self._index: dict[_Key, list[Exchange]] = {}
        for key, exchange in zip(self._keys, self.exchanges, strict=True):
            self._index.setdefault(key, []).append(exchange)
        self._served: dict[_Key, int] = {}
        self._ids = random.Random("replay")
        self.requests_seen = 0
        self.misses: list[str] = []
        self.failures: list[Exception] = []

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        speed: float = 1.0,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_capture_bytes: int = DEFAULT_MAX_CAPTURE_BYTES,
    ) -> Replay:
        """A replay of the capture file at `path`, read by `wire.testing.capture.read_capture`
        (a bad file is its `CaptureError`, naming the line; the limits are its own)."""
        limits = {"max_line_bytes": max_line_bytes, "max_capture_bytes": max_capture_bytes}
        return cls(read_capture(path, **limits), speed=speed)

    def connection(self) -> ReplayConnection:
        return ReplayConnection(self)

    def failed(self, exc: Exception) -> None:
        """Keep an internal failure a connection contained."""
        if len(self.failures) < _MAX_FAILURES:
            self.failures.append(exc)

    def new_id(self) -> str:
        """A request id in the API's style for the replay's own answers (404, errors)."""
        return api_id(self._ids, "req_")

    def match(self, method: str, target: str, body: bytes) -> Exchange | str:
        """The recording to answer with (in recorded order, then the last again), or the
        404 message naming the closest recording."""
        self.requests_seen += 1
        key = _Key.of(method, target, body)
        found = self._index.get(key)
        if found is not None:
            served = self._served.get(key, 0)
            self._served[key] = served + 1
            return found[min(served, len(found) - 1)]
        message = self._miss(key, f"{method} {target}")
        if len(self.misses) < _MAX_MISSES:
            self.misses.append(message)
        return message

    def _miss(self, key: _Key, request: str) -> str:
        """The 404 text: the closest recording (fewest differing parts, the first of
        equals) and what differs."""
        if not self.exchanges:
            return f"no recording matches {request}: the capture holds none"
        _, index = min((len(key.differences(other)), i) for i, other in enumerate(self._keys))
        closest, recorded = self.exchanges[index], self._keys[index]
        parts = []
        for name in key.differences(recorded):
            if name == "body":
                parts.append(_body_difference(recorded.body, key.body))
            else:
                parts.append(f"its {name} differs")
        return (
            f"no recording matches {request}; the closest is exchange {closest.id} "
            f"({closest.request.method} {closest.request.target}): {'; '.join(parts)}"
        )


class ReplayConnection(ServerConnection):
    """One server-side HTTP/1.1 connection of a replay: bytes in, actions out.

    As `EmulatorConnection`: `receive_data(data, now)` (b"" at EOF) returns the
    first actions, and while `pending` the runtime asks `next_actions(now)` for
    the rest. A `Sleep` is only ever returned alone, computed from that call's
    `now`, so each piece goes out at its due time however long the sends took.
    """

    name = "replay"

    def __init__(self, replay: Replay) -> None:
        super().__init__()
        self.replay = replay
        self._plan: Iterator[tuple[float, Action]] | None = None  # the answer being sent
        self._next: tuple[float, Action] | None = None  # its next (due, action)
        self._again = False  # a step stopped at its bound: buffered requests may wait

    @property
    def pending(self) -> bool:
        """Whether more actions are ready or due without more bytes (call `next_actions`)."""
        return not self.closed and (self._plan is not None or self._again)

    def _step(self, now: float) -> list[Action]:
        actions: list[Action] = []
        try:
            while not self.closed and len(actions) < ACTIONS_PER_STEP:
                if self._plan is None:
                    if not self._next_event(now, actions):
                        break
                    continue
                if self._next is None:
                    self._next = next(self._plan, None)
                    if self._next is None:
                        self._finish()
                        continue
                due, action = self._next
                if due > now:
                    if not actions:
                        actions.append(Sleep(due - now))
                    break
                self._next = None
                actions.append(action)
                self.closed = isinstance(action, Close)
        except Exception as exc:  # a bug, or a capture h11 refuses to send: this connection
            actions += self._internal_error(exc)
        self._again = len(actions) >= ACTIONS_PER_STEP
        return actions

    def _respond(self, body: bytes, now: float) -> None:
        self._plan = self._answer(body, now)

    def _drop(self) -> None:
        self._plan = self._next = None

    def _new_id(self) -> str:
        return self.replay.new_id()

    def _failed(self, exc: Exception) -> None:
        self.replay.failed(exc)

    def _answer(self, body: bytes, now: float) -> Iterator[tuple[float, Action]]:
        """The (due time, action) pairs that answer the request just read."""
        request = self._request
        assert request is not None
        method = bytes(request.method).decode("ascii", "replace")
        target = bytes(request.target).decode("latin-1")
        found = self.replay.match(method, target, body)
        if isinstance(found, str):
            return self._not_found(found, now, head_only=method == "HEAD")
        return self._recorded(found, now, head_only=method == "HEAD")

    def _not_found(
        self, message: str, now: float, head_only: bool
    ) -> Iterator[tuple[float, Action]]:
        request_id = self.replay.new_id()
        body = error_envelope("not_found_error", message, request_id)
        headers = [
            ("content-type", "application/json"),
            ("content-length", str(len(body))),
            ("request-id", request_id),
        ]
        yield now, self._send(h11.Response(status_code=404, headers=headers, reason=b"Not Found"))
        if not head_only:
            yield now, self._send(h11.Data(data=body))
        yield now, self._send(h11.EndOfMessage())
        yield from self._close_if_needed(now)

    def _recorded(
        self, exchange: Exchange, now: float, head_only: bool
    ) -> Iterator[tuple[float, Action]]:
        """The recorded answer: head, one send per read, then the end (or the cut-off)."""
        speed = self.replay.speed

        def due(t: float) -> float:
            return now + t / speed if speed else now

        response, end = exchange.response, exchange.end
        if response is None:  # the upstream never answered: the recorder's own 502, as sent
            error = "no answer was recorded" if end is None else end.error or "no answer"
            message = f"wire record: upstream failed: {error}"
            refused = refusal(502, "api_error", message, self.replay.new_id(), "wire-replay")
            yield due(0.0 if end is None else end.t), Send(refused)
            yield due(0.0 if end is None else end.t), Close()
            return
        bodiless = head_only or response.status in (204, 304)
        reads = () if bodiless else exchange.reads
        headers = [(k, v) for k, v in response.headers if k.lower() not in FRAMING_HEADERS]
        if not bodiless:
            headers.append(_framing(exchange, response.headers))
        reason = response.reason.encode("latin-1", "replace")
        head = h11.Response(status_code=response.status, headers=headers, reason=reason)
        yield due(response.t), self._send(head)
        self._head_sent = True
        for read in reads:
            if read.data:  # an empty read would end a chunked body early
                yield due(read.t), self._send(h11.Data(data=read.data))
        last = max([response.t, *(read.t for read in reads)])
        finish = due(last if end is None else end.t)
        if not (_complete(exchange) or bodiless):
            yield finish, Close()  # the recorded cut-off: the body ends unfinished
            return
        yield finish, self._send(h11.EndOfMessage())
        yield from self._close_if_needed(finish)

    def _send(self, event: h11.Event) -> Send:
        return Send(self._h11.send(event) or b"")

    def _close_if_needed(self, due: float) -> Iterator[tuple[float, Action]]:
        if self._h11.our_state is h11.MUST_CLOSE:
            yield due, Close()


def _complete(exchange: Exchange) -> bool:
    """Whether the recorded body ended normally (an exchange without an end line did not)."""
    return exchange.end is not None and exchange.end.complete


def _framing(exchange: Exchange, headers: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """content-length for a complete body that is not an event stream; chunked otherwise."""
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    if _complete(exchange) and not content_type.lower().startswith("text/event-stream"):
        return ("content-length", str(sum(len(read.data) for read in exchange.reads)))
    return ("transfer-encoding", "chunked")
