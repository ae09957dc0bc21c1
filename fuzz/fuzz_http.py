#!/usr/bin/env python3
"""Fuzz `wire.ClientConnection`: the peer's bytes, in any chunking, give one outcome.

Input: see fuzz/_common.py (header, chunk sizes, then the bytes the peer sends
after a GET: status line, headers, framing, body, perhaps several responses).
`flags & 1` selects small limits (`SMALL`), so head, line, event and body limits
are breached often.

Invariants checked on every input:
1. Fed whole, one byte at a time, cut in two at every position (or an even
   sample for long inputs) and in the fuzzer's chunks, then end of file: the
   same events (`BodyData` joined: its pieces follow the input's) and the same
   first error (its type, and its `.limit` for a `SizeLimitError`).
2. The only exceptions are `RemoteProtocolError` kinds (the peer is the only
   one at fault here), never `IncompleteStreamError`, which comes as the value
   event `StreamIncomplete`. Events are values, never exceptions.
3. State is consistent after each call: `reusable` is `state is IDLE`; a
   `pending_error` means `FAILED` and is exactly what the next call raises;
   after an error the connection is `FAILED` and every later call raises
   `LocalProtocolError`.

Run: python fuzz/fuzz_http.py -max_total_time=60 fuzz/seeds/http
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: import wire, fuzz and tests from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import wire
from fuzz._common import chunks, fuzz_main, short, split_input, split_points

SMALL = {"max_header_bytes": 200, "max_body_bytes": 300, "max_line_bytes": 64}
"""The small-limit profile (`flags & 1`)."""

SPLIT_LIMIT = 60
"""Inputs up to this long are cut in two at every position; longer ones at a sample."""

_REQUEST = wire.Request("GET", "/v1/x", (("x-api-key", "k"),))
_VALUES = (
    wire.ResponseHead,
    wire.JSONBody,
    wire.BodyData,
    wire.ErrorResponse,
    wire.StreamIncomplete,
    wire.ResponseComplete,
)


def outcome(pieces: list[bytes], options: dict[str, Any]) -> tuple[list[Any], Any]:
    """The events (normalised) and the first error (type, limit) for `pieces`, then EOF."""
    client = wire.ClientConnection("h", **options)
    client.send_request(_REQUEST)
    events: list[Any] = []
    error: Any = None
    for piece in [*(p for p in pieces if p), b""]:  # b"" is end of file: only at the end
        pending = client.pending_error
        try:
            got = client.receive_data(piece)
        except wire.WireError as exc:
            error = _check_error(client, exc, pending)
            break
        assert pending is None, "a pending error was not raised"
        for event in got:
            assert not isinstance(event, BaseException), short(event)
            assert isinstance(event, _VALUES) or type(event).__module__ == "wire._events"
        events.extend(got)
        _check_state(client)
    return _normalised(events), error


def _check_error(client: wire.ClientConnection, exc: Exception, pending: Any) -> Any:
    """Invariants 2 and 3 for a raised error; its (type, limit)."""
    assert isinstance(exc, wire.RemoteProtocolError), short(exc)
    assert not isinstance(exc, wire.IncompleteStreamError), short(exc)
    assert pending is None or exc is pending
    assert client.state is wire.ConnectionState.FAILED
    try:
        client.receive_data(b"")
    except wire.LocalProtocolError:
        pass
    else:
        raise AssertionError("a failed connection accepted another call")
    return type(exc), getattr(exc, "limit", None)


def _check_state(client: wire.ClientConnection) -> None:
    state = client.state
    assert client.reusable is (state is wire.ConnectionState.IDLE)
    if client.pending_error is not None:
        assert state is wire.ConnectionState.FAILED


def _normalised(events: list[Any]) -> list[Any]:
    out: list[Any] = []
    for event in events:
        if isinstance(event, wire.BodyData) and out and isinstance(out[-1], wire.BodyData):
            out[-1] = wire.BodyData(out[-1].data + event.data)
        elif isinstance(event, wire.ErrorResponse):
            e = event.error
            out.append((type(e), e.status, e.type, e.message, e.retryable))
        elif isinstance(event, wire.StreamIncomplete):
            out.append(("incomplete", event.partial_message))
        else:
            out.append(event)
    return out


def check(data: bytes) -> None:
    fuzz = split_input(data)
    options = SMALL if fuzz.flags & 1 else {}
    raw = fuzz.payload
    expected = outcome([raw], options)
    ways = [[raw[i : i + 1] for i in range(len(raw))], chunks(raw, fuzz.sizes)]
    ways += [[raw[:at], raw[at:]] for at in split_points(len(raw), SPLIT_LIMIT)]
    for pieces in ways:
        got = outcome(pieces, options)
        assert got == expected, (
            f"{short(raw)} in {len(pieces)} pieces: {short(got)} != {short(expected)}"
        )


if __name__ == "__main__":
    fuzz_main("fuzz.fuzz_http")
