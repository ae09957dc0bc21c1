"""Properties of the SSE layer: chunking invariance, round trips, agreement with a reference."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wire
import wire._sse
from tests.helpers import sse_events
from tests.reference_sse import reference_decode
from wire.testing.strategies import chunkings, sse_streams


def _as_tuples(events: list[wire.ServerSentEvent]) -> list[tuple[str, str, str, int | None]]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def _decode_with_state(chunks: list[bytes]) -> tuple[list[wire.ServerSentEvent], str, int | None]:
    decoder = wire.SSEDecoder()
    events: list[wire.ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    decoder.close()
    return events, decoder.last_event_id, decoder.retry


@given(st.data(), sse_streams(hostile=True))
def test_any_chunking_gives_the_same_events(data: st.DataObject, stream: bytes) -> None:
    whole = _decode_with_state([stream])
    assert _decode_with_state(data.draw(chunkings(stream))) == whole
    assert _decode_with_state([stream[i : i + 1] for i in range(len(stream))]) == whole


@given(sse_streams(hostile=True))
def test_agrees_with_the_reference_decoder(stream: bytes) -> None:
    events, last_id, retry = _decode_with_state([stream])
    ref_events, ref_last_id, ref_retry = reference_decode(stream)
    assert _as_tuples(events) == [(e.event, e.data, e.id, e.retry) for e in ref_events]
    assert (last_id, retry) == (ref_last_id, ref_retry)


@given(st.binary(max_size=300))
def test_agrees_with_the_reference_on_arbitrary_bytes(stream: bytes) -> None:
    events, last_id, retry = _decode_with_state([stream])
    ref_events, ref_last_id, ref_retry = reference_decode(stream)
    assert _as_tuples(events) == [(e.event, e.data, e.id, e.retry) for e in ref_events]
    assert (last_id, retry) == (ref_last_id, ref_retry)


_FIELD = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=20)
_DATA = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)


@given(
    st.lists(
        st.tuples(
            _DATA,
            st.one_of(st.none(), _FIELD.filter(bool)),
            st.one_of(st.none(), _FIELD.filter(lambda s: "\0" not in s)),
            st.one_of(st.none(), st.integers(0, 2**64)),
        ),
        max_size=8,
    ),
    st.data(),
)
def test_encode_then_decode_round_trips(
    fields: list[tuple[str, str | None, str | None, int | None]], data: st.DataObject
) -> None:
    stream = b"".join(
        wire.encode_sse(d, event=event, id=id_, retry=retry) for d, event, id_, retry in fields
    )
    events, _ = sse_events(data.draw(chunkings(stream)))
    expected = []
    last_id = ""
    for d, event, id_, retry in fields:
        if id_ is not None:
            last_id = id_
        normalised = d.replace("\r\n", "\n").replace("\r", "\n")
        expected.append((event or "message", normalised, last_id, retry))
    # A data string starting with U+FEFF at the very start of the stream would be a BOM.
    if stream.startswith(b"\xef\xbb\xbf"):
        return
    assert _as_tuples(events) == expected


@given(st.binary(max_size=400), st.data())
def test_garbage_only_raises_documented_errors(stream: bytes, data: st.DataObject) -> None:
    chunks = data.draw(chunkings(stream))
    limits = data.draw(st.sampled_from([{}, {"max_line_bytes": 8}, {"max_event_bytes": 8}]))
    try:
        whole = sse_events([stream], **limits)
    except wire.SSEError as exc:
        with pytest.raises(type(exc)):
            sse_events(chunks, **limits)
    else:
        assert sse_events(chunks, **limits) == whole


@settings(max_examples=20)
@given(st.integers(1, 300), st.data())
def test_big_event_in_small_chunks(size_kib: int, data: st.DataObject) -> None:
    payload = "x" * (size_kib * 1024)
    stream = f"event: big\ndata: {payload}\n\n".encode()
    step = data.draw(st.sampled_from([64, 1000, 4096]))
    events, _ = sse_events(stream[i : i + step] for i in range(0, len(stream), step))
    assert events == [wire.ServerSentEvent(event="big", data=payload)]


@given(sse_streams(hostile=True), st.data())
def test_in_place_path_for_big_regions_agrees(stream: bytes, data: st.DataObject) -> None:
    """Regions from 64 KiB on may be read in place (`_single_block`); force it for all."""
    with patch.object(wire._sse, "_BIG_REGION", 0):
        fast = _decode_with_state(data.draw(chunkings(stream)))
    ref_events, ref_last_id, ref_retry = reference_decode(stream)
    assert _as_tuples(fast[0]) == [(e.event, e.data, e.id, e.retry) for e in ref_events]
    assert fast[1:] == (ref_last_id, ref_retry)


@given(st.binary(max_size=200), st.data())
def test_in_place_path_limits_agree(stream: bytes, data: st.DataObject) -> None:
    limits = data.draw(
        st.sampled_from([{"max_event_bytes": 8}, {"max_event_bytes": 40}, {"max_line_bytes": 16}])
    )
    chunks = data.draw(chunkings(stream))
    outcomes: list[object] = []
    for big in (0, 1 << 30):
        with patch.object(wire._sse, "_BIG_REGION", big):
            try:
                outcomes.append(sse_events(chunks, **limits))
            except wire.SSEError as exc:
                outcomes.append(type(exc))
    assert outcomes[0] == outcomes[1]


def test_big_event_with_pending_fields_and_invalid_utf8() -> None:
    payload = "é" * 70_000 + "\ufffd"
    stream = b"id: 9\nevent: big\ndata: " + payload[:-1].encode() + b"\xff\n\n"
    for step in (64, 4096, len(stream)):
        events, last = sse_events(stream[i : i + step] for i in range(0, len(stream), step))
        assert events == [wire.ServerSentEvent(event="big", data=payload, id="9")]
        assert last == "9"
