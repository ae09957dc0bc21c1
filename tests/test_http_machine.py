"""`ClientConnection` as a state machine: hypothesis drives send / receive / end of file.

The peer's bytes come from a catalogue of valid and broken responses, cut
anywhere. After every step the invariants hold: `state` agrees with
`reusable` and `pending_error`; `receive_data` returns value events only and
raises only documented errors (`RemoteProtocolError` kinds for what the peer
broke, `LocalProtocolError` for misuse); a pending error is the exact one the
next call raises; after a failure nothing but `LocalProtocolError`.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import wire
from tests.link import response_bytes
from wire._connection import (
    BodyData,
    ClientConnection,
    ConnectionState,
    ErrorResponse,
    JSONBody,
    ResponseComplete,
    ResponseHead,
    StreamIncomplete,
)
from wire.builders import Request

S = ConnectionState
SAMPLE = (resources.files("wire") / "samples" / "tool_use.sse").read_bytes()
SSE = [("content-type", "text/event-stream")]
JSON = [("content-type", "application/json")]
ENVELOPE = json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "o"}})
GET = Request("GET", "/v1/models", (("x-api-key", "k"),))

# What a peer may send: whole responses (valid or broken), and pieces that break things.
CATALOGUE = {
    "json": response_bytes(200, JSON, b'{"a": 1}'),
    "json, chunked, close": response_bytes(
        200, [*JSON, ("connection", "close")], b"{}", chunked=True
    ),
    "stream": response_bytes(200, SSE, SAMPLE, chunked=True, pieces=3),
    "stream, gzip": response_bytes(
        200, [*SSE, ("content-encoding", "gzip")], gzip.compress(SAMPLE), pieces=2
    ),
    "stream, no message_stop": response_bytes(
        200, SSE, SAMPLE[: len(SAMPLE) // 2].rsplit(b"\n\n", 1)[0] + b"\n\n"
    ),
    "stream, cut off": response_bytes(200, SSE, SAMPLE)[:-100],
    "stream, bad event": response_bytes(200, SSE, b'data: {"type":"ping"}\n\ndata: {bad\n\n'),
    "error status": response_bytes(529, JSON, ENVELOPE.encode(), chunked=True),
    "error status, html": response_bytes(502, [("content-type", "text/html")], b"<p>bad</p>"),
    "jsonl": response_bytes(200, [("content-type", "application/x-jsonl")], b"a\nb\n"),
    "1xx": b"HTTP/1.1 100 Continue\r\n\r\n",
    "bad gzip": response_bytes(200, [*JSON, ("content-encoding", "gzip")], b"\x1f\x8bnot gzip"),
    "bad status line": b"HTTP/1.1 two hundred OK\r\n\r\n",
    "bad chunk": b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    "bad encoding": response_bytes(200, [*JSON, ("content-encoding", "br")], b"{}"),
    "stray bytes": b"junk",
}
VALID = ("json", "json, chunked, close", "stream", "stream, gzip", "error status", "jsonl")
WEIGHTED = sorted(CATALOGUE) + [name for name in VALID for _ in range(4)]  # valid ones 5 times
RAISED = (wire.RemoteProtocolError, wire.LocalProtocolError)
VALUES = (ResponseHead, JSONBody, BodyData, ErrorResponse, StreamIncomplete, ResponseComplete)


class ConnectionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.client = ClientConnection("h")
        self.wire = b""  # bytes the peer has sent that the client has not read yet
        self.failed = False  # an error was raised: from now on only LocalProtocolError
        self.eof = False

    @initialize(first=st.sampled_from(["send"] * 9 + ["receive"]))
    def start(self, first: str) -> None:
        if first == "send":  # mostly; else the peer speaks before any request
            self.send()

    @rule()
    def send(self) -> None:
        state = self.client.state
        try:
            self.client.send_request(GET)
        except wire.LocalProtocolError:
            assert state is not S.IDLE
            assert self.client.state is state
            event(f"send refused while {state.value}")
        else:
            assert state is S.IDLE
            assert self.client.state is S.AWAITING_RESPONSE

    # One rule with weighted actions: end of file ends the useful part of a run,
    # so it comes rarely; reading comes often, in pieces of any size.
    @rule(
        action=st.sampled_from(["write"] * 3 + ["receive"] * 5 + ["send"] * 2 + ["eof"]),
        name=st.sampled_from(WEIGHTED),
        data=st.data(),
    )
    def act(self, action: str, name: str, data: st.DataObject) -> None:
        if action == "send":
            self.send()
        elif action == "eof":
            self._call(b"")
            self.eof = True
        elif action == "write" or not self.wire:
            self.wire += CATALOGUE[name]
        else:
            size = data.draw(st.integers(1, len(self.wire)), label="size")
            chunk, self.wire = self.wire[:size], self.wire[size:]
            self._call(chunk)

    def _call(self, data: bytes) -> None:
        client = self.client
        before = client.state
        pending = client.pending_error
        try:
            events = client.receive_data(data)
        except RAISED as exc:
            self._raised(exc, before, pending, data)
            return
        assert pending is None
        assert not self.failed
        for item in events:
            assert not isinstance(item, BaseException)  # errors are raised, never returned
            assert isinstance(item, VALUES) or type(item).__module__ == "wire._events"
            event(type(item).__name__)

    def _raised(
        self, exc: Exception, before: ConnectionState, pending: Exception | None, data: bytes
    ) -> None:
        assert not isinstance(exc, wire.IncompleteStreamError)  # a value event, never raised
        event(f"{type(exc).__name__} while {before.value}" + ("" if data else " at eof"))
        if pending is not None:
            assert exc is pending  # exactly the error announced
        elif self.failed:
            assert type(exc) is wire.LocalProtocolError  # nothing after a failure but this
        elif isinstance(exc, wire.LocalProtocolError):
            # Misuse, not a failure: reading on after end of file or a cut-off.
            assert self.eof or before is S.CLOSED
            assert self.client.state is before
            return
        self.failed = True

    @invariant()
    def state_is_consistent(self) -> None:
        client = self.client
        state = client.state
        assert isinstance(state, ConnectionState)
        assert client.reusable is (state is S.IDLE)
        if client.pending_error is not None:
            assert state is S.FAILED
        if self.failed:
            assert state is S.FAILED


ConnectionMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=20, deadline=None
)
test_connection_machine = ConnectionMachine.TestCase


@pytest.mark.heavy
def test_connection_machine_long() -> None:
    run = ConnectionMachine.TestCase("runTest")
    run.settings = settings(  # type: ignore[misc]
        max_examples=3000, stateful_step_count=40, deadline=None
    )
    run.runTest()
