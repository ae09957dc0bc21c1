"""Shared test helpers: run a decoder over chunkings (h11's `tr()` idea)."""

from __future__ import annotations

from collections.abc import Iterable

import wire


def sse_events(chunks: Iterable[bytes], **limits: int) -> tuple[list[wire.ServerSentEvent], str]:
    decoder = wire.SSEDecoder(**limits)
    events: list[wire.ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    decoder.close()
    return events, decoder.last_event_id


def splits(data: bytes) -> list[list[bytes]]:
    """The chunkings every example test runs: whole, 1 byte at a time, every 2- and 3-way cut."""
    ways = [[data], [data[i : i + 1] for i in range(len(data))]]
    for i in range(1, len(data)):
        ways.append([data[:i], data[i:]])
    if len(data) <= 40:
        for i in range(1, len(data)):
            for j in range(i + 1, len(data)):
                ways.append([data[:i], data[i:j], data[j:]])
    return ways


def decode_all_ways(data: bytes) -> list[wire.ServerSentEvent]:
    """Decode `data` in every chunking of `splits`; all must agree; return the events."""
    expected, last_id = sse_events([data])
    for chunks in splits(data):
        assert sse_events(chunks) == (expected, last_id), chunks
    return expected


def stream_decode(chunks: Iterable[bytes]) -> tuple[list[wire.StreamEvent], wire.Message | None]:
    decoder = wire.MessageStreamDecoder()
    events: list[wire.StreamEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    decoder.close()
    return events, decoder.message
