#!/usr/bin/env python3
"""Fuzz `wire.SSEDecoder`: chunking never matters, the reference agrees, limits are exact.

Input: see fuzz/_common.py (header, chunk sizes, then the SSE stream).
`flags & 3` picks the small-limit profile of the second run (`PROFILES`).

Invariants checked on every input:
1. With the default limits, feeding the stream whole, one byte at a time, cut
   at every position (or an even sample of positions for long streams) and in
   the fuzzer's chunks gives the same events, `last_event_id`, `retry` and
   `pending`, and they equal `tests/reference_sse.reference_decode` (events
   compared as (event, data, id, retry)). No exception at all is allowed.
2. `close()` returns None and leaves `pending` as it was; `feed()` after it
   raises `LocalProtocolError`.
3. With small limits, the only exception allowed is an `SSEError` subclass;
   it is raised in every chunking or in none, and exactly when the stream
   holds a line longer than `max_line_bytes` or an event whose data grows past
   `max_event_bytes` (an oracle computed here from the spec's line rules).
   Events returned before it are a prefix of the reference's events; with no
   error, the result equals the default-limit result. After the error `feed()`
   raises `LocalProtocolError`.
   The subclass raised is that of the first breach in stream order.

Run: python fuzz/fuzz_sse.py -max_total_time=60 fuzz/seeds/sse
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: import wire, fuzz and tests from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import wire
from fuzz._common import (
    chunks,
    fuzz_main,
    same,
    short,
    split_input,
    split_points,
)
from tests.reference_sse import reference_decode

PROFILES: tuple[tuple[int, int], ...] = ((64, 256), (8, 24), (1, 1), (300, 40))
"""(max_line_bytes, max_event_bytes) for the small-limit run, chosen by `flags & 3`."""

SPLIT_LIMIT = 40
"""Streams up to this long are cut in two at every position; longer ones at a sample."""

_BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")

Event = tuple[str, str, str, "int | None"]


class Run:
    """What one decoder made of one chunking."""

    def __init__(self, parts: list[bytes], limits: tuple[int, int] | None) -> None:
        self.parts = parts
        self.events: list[Event] = []
        self.error: wire.SSEError | None = None
        if limits is None:
            decoder = wire.SSEDecoder()
        else:
            decoder = wire.SSEDecoder(max_line_bytes=limits[0], max_event_bytes=limits[1])
        try:
            for part in parts:
                got = decoder.feed(part)
                assert type(got) is list, f"feed() returned {type(got).__name__}"
                self.events.extend(_event(e) for e in got)
        except wire.SSEError as exc:
            if limits is None:
                raise
            self.error = exc
            _expect_local_error(decoder, "feed() after a limit error")
        self.last_event_id = decoder.last_event_id
        self.retry = decoder.retry
        self.pending = decoder.pending
        if self.error is None:
            try:
                closed = decoder.close()  # type: ignore[func-returns-value]
            except wire.SSEError as exc:  # deferred by the last feed(), after its events
                if limits is None:
                    raise
                self.error = exc
            else:
                assert closed is None, "close() returned something"
                assert decoder.pending == self.pending, "close() changed pending"
            _expect_local_error(decoder, "feed() after close()")

    def outcome(self) -> tuple[Any, ...]:
        return (self.events, self.last_event_id, self.retry, self.pending)

    def label(self) -> str:
        return f"chunks {short([len(p) for p in self.parts], 200)}"


def _event(sse: Any) -> Event:
    assert type(sse) is wire.ServerSentEvent, f"feed() yielded {type(sse).__name__}"
    assert type(sse.event) is str, f"event {sse.event!r}"
    assert type(sse.data) is str, f"data {sse.data!r}"
    assert type(sse.id) is str, f"id {sse.id!r}"
    assert sse.retry is None or type(sse.retry) is int, f"retry {sse.retry!r}"
    return (sse.event, sse.data, sse.id, sse.retry)


def _expect_local_error(decoder: wire.SSEDecoder, what: str) -> None:
    try:
        decoder.feed(b"data: x\n\n")
    except wire.LocalProtocolError:
        return
    raise AssertionError(f"{what} did not raise LocalProtocolError")


def reference(stream: bytes) -> tuple[list[Event], str, int | None]:
    """`reference_decode`, with its events as tuples.

    The reference converts a valid `retry:` value with `int()` *before* dropping
    leading zeros, so more than 4300 digits (mostly zeros) hit Python's
    int-string limit and raise ValueError; the limit is lifted around the call.
    """
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        events, last_id, retry = reference_decode(stream)
    finally:
        sys.set_int_max_str_digits(old)
    return [(e.event, e.data, e.id, e.retry) for e in events], last_id, retry


def first_breach(stream: bytes, max_line: int, max_event: int) -> type[wire.SSEError] | None:
    """The limit a stream breaches first (in stream order), from the spec's line rules."""
    if stream.startswith(_BOM):
        stream = stream[3:]
    elif _BOM.startswith(stream):
        return None  # a BOM's first bytes: no line yet
    pieces = _LINE_END.split(stream)
    data_size = 0
    for n, raw in enumerate(pieces):
        if len(raw) > max_line:
            return wire.LineTooLongError
        if n == len(pieces) - 1:
            break  # not terminated: never interpreted
        if not raw:
            data_size = 0
            continue
        line = raw.decode("utf-8", "replace")
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data_size += len(value.encode("utf-8")) + 1
            if data_size - 1 > max_event:
                return wire.EventTooLargeError
    return None


def chunkings(stream: bytes, sizes: tuple[int, ...]) -> list[list[bytes]]:
    out = [[stream], [stream[i : i + 1] for i in range(len(stream))], chunks(stream, sizes)]
    out.extend([stream[:i], stream[i:]] for i in split_points(len(stream), SPLIT_LIMIT))
    return out


def check(data: bytes) -> None:
    fuzz = split_input(data)
    stream = fuzz.payload
    ref_events, ref_id, ref_retry = reference(stream)

    # 1. Default limits: every chunking == the reference; no exception.
    runs = [Run(parts, None) for parts in chunkings(stream, fuzz.sizes)]
    whole = runs[0]
    expected = (ref_events, ref_id, ref_retry)
    got = (whole.events, whole.last_event_id, whole.retry)
    assert same(got, expected), (
        f"whole stream differs from the reference\n  stream {stream!r}\n"
        f"  wire {short(got)}\n  reference {short(expected)}"
    )
    for run in runs[1:]:
        assert same(run.outcome(), whole.outcome()), (
            f"{run.label()} differs from the whole stream\n  stream {stream!r}\n"
            f"  chunked {short(run.outcome())}\n  whole {short(whole.outcome())}"
        )

    # 3. Small limits: an SSEError exactly when a limit is breached, in any chunking.
    limits = PROFILES[fuzz.flags & 3]
    breach = first_breach(stream, *limits)
    small = [Run(parts, limits) for parts in chunkings(stream, fuzz.sizes)[:3]]
    for run in small:
        raised = None if run.error is None else type(run.error)
        assert (raised is None) == (breach is None), (
            f"limits {limits}, {run.label()}: raised {raised}, expected "
            f"{breach.__name__ if breach else 'no error'}\n  stream {stream!r}"
        )
        if run.error is None:
            assert same(run.outcome(), whole.outcome()), (
                f"limits {limits}, {run.label()}: differs without a limit error\n"
                f"  stream {stream!r}\n  got {short(run.outcome())}\n"
                f"  expected {short(whole.outcome())}"
            )
        else:
            assert same(run.events, ref_events[: len(run.events)]), (
                f"limits {limits}, {run.label()}: events before {raised} are not a "
                f"prefix of the reference's\n  stream {stream!r}\n  got {short(run.events)}"
            )
            assert run.error.maximum in limits, f"{run.error!r} names {run.error.maximum}"
            # The decoder raises breaches in stream order, the events before first.
            assert raised is breach, (
                f"limits {limits}, {run.label()}: raised {raised}, the first breach "
                f"is {breach}\n  stream {stream!r}"
            )


if __name__ == "__main__":
    fuzz_main("fuzz.fuzz_sse")
