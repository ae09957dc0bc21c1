"""`max_message_bytes`: a streamed message cannot grow without bound."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wire
from wire.testing.strategies import chunkings, encode_events, stream_event_sequences

START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    },
}
START_SIZE = len(json.dumps(START["message"], separators=(",", ":")))
TEXT_START = {
    "type": "content_block_start",
    "index": 0,
    "content_block": {"type": "text", "text": ""},
}
TEXT_SHELL = len('{"type":"text","text":""}')


def text_delta(text: str, index: int = 0) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "text_delta", "text": text},
    }


def feed(acc: wire.MessageAccumulator, obj: dict[str, Any]) -> None:
    acc.feed(wire.stream_event_from_dict(obj))


def test_the_default_is_32_mib_and_documented_on_both_objects() -> None:
    assert wire.MessageAccumulator().max_message_bytes == 32 * 2**20
    raw = encode_events([START, TEXT_START, text_delta("x" * 1000)])
    assert wire.MessageStreamDecoder().feed(raw)  # far under the default
    decoder = wire.MessageStreamDecoder(max_message_bytes=1000)  # passed on
    assert len(decoder.feed(raw)) == 3  # the events first, the error on the next call
    with pytest.raises(wire.MessageTooLargeError, match="max_message_bytes=1000"):
        decoder.close()
    for cls in (wire.MessageAccumulator, wire.MessageStreamDecoder):
        assert "max_message_bytes" in (cls.__doc__ or "")


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", None, True])
def test_a_bad_limit_is_refused_by_name(bad: Any) -> None:
    for cls in (wire.MessageAccumulator, wire.MessageStreamDecoder):
        with pytest.raises(wire.InvalidParameterError, match="max_message_bytes"):
            cls(max_message_bytes=bad)


def test_the_breaching_delta_raises_and_is_not_applied() -> None:
    limit = START_SIZE + TEXT_SHELL + 10
    acc = wire.MessageAccumulator(max_message_bytes=limit)
    for obj in (START, TEXT_START, text_delta("0123456789")):  # exactly at the limit: fine
        feed(acc, obj)
    assert acc.counted_bytes == limit
    with pytest.raises(wire.MessageTooLargeError) as info:
        feed(acc, text_delta("x"))
    error = info.value
    assert isinstance(error, wire.SizeLimitError)
    assert isinstance(error, wire.RemoteProtocolError)
    assert (error.limit, error.maximum, error.size) == ("max_message_bytes", limit, limit + 1)
    assert f"max_message_bytes={limit}" in str(error)
    assert acc.message is not None
    assert acc.message.text == "0123456789"  # the partial message stays readable
    assert acc.counted_bytes == limit
    feed(acc, {"type": "ping"})  # events that add nothing still apply
    feed(acc, {"type": "content_block_stop", "index": 0})
    with pytest.raises(wire.MessageTooLargeError):  # and whatever adds still breaches
        feed(acc, TEXT_START | {"index": 1})
    assert acc.message.text == "0123456789"


def test_text_counts_utf8_bytes() -> None:
    acc = wire.MessageAccumulator()
    for obj in (START, TEXT_START):
        feed(acc, obj)
    before = acc.counted_bytes
    feed(acc, text_delta("é東🌤\ud800"))  # 2 + 3 + 4 + 3 (a lone surrogate, as JSON allows)
    assert acc.counted_bytes - before == 12


def _grow(kind: str, i: int) -> list[dict[str, Any]]:
    """Events that add to a message, of one kind, again and again."""
    if kind == "blocks":
        return [{"type": "content_block_start", "index": i, "content_block": {"type": "text"}}]
    if kind == "tool":
        piece = '{"a": [' if i == 0 else "1, "
        return [
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": piece},
            }
        ]
    if kind == "citations":
        citation = {"type": "char_location", "cited_text": "abc", "document_index": i}
        d: dict[str, Any] = {"type": "citations_delta", "citation": citation}
    elif kind == "thinking":
        d = {"type": "thinking_delta", "thinking": "hmm "}
    elif kind == "signature":
        d = {"type": "signature_delta", "signature": "sig" * 10}
    else:
        return [
            {"type": "message_delta", "delta": {"container": {"id": "c" * 20}}, "usage": {}},
        ]
    return [{"type": "content_block_delta", "index": 0, "delta": d}]


_FIRST_BLOCK = {
    "blocks": None,
    "tool": {"type": "tool_use", "id": "t", "name": "f", "input": {}},
    "citations": {"type": "text", "text": ""},
    "thinking": {"type": "thinking", "thinking": "", "signature": ""},
    "signature": {"type": "thinking", "thinking": "", "signature": ""},
    "message_delta": None,
}


@pytest.mark.parametrize("kind", sorted(_FIRST_BLOCK))
def test_every_kind_of_growth_is_counted(kind: str) -> None:
    limit = 10_000
    acc = wire.MessageAccumulator(max_message_bytes=limit)
    feed(acc, START)
    first = _FIRST_BLOCK[kind]
    if first is not None:
        feed(acc, {"type": "content_block_start", "index": 0, "content_block": first})
    assert _grow_until_breach(acc, kind).maximum == limit
    assert acc.counted_bytes <= limit
    assert acc.message is not None


def _grow_until_breach(acc: wire.MessageAccumulator, kind: str) -> wire.MessageTooLargeError:
    for i in range(acc.max_message_bytes):
        for obj in _grow(kind, i):
            try:
                feed(acc, obj)
            except wire.MessageTooLargeError as exc:
                return exc
            assert acc.counted_bytes <= acc.max_message_bytes
    raise AssertionError(f"{kind}: no breach")


def test_an_endless_stream_of_deltas_stops_at_the_limit() -> None:
    limit = 1 << 20
    decoder = wire.MessageStreamDecoder(max_message_bytes=limit)
    delivered = decoder.feed(encode_events([START, TEXT_START]))
    chunk = encode_events([text_delta("x" * 1000)] * 64)
    for _ in range(100):  # 6.4 MB offered
        try:
            delivered += decoder.feed(chunk)
        except wire.MessageTooLargeError:
            break
    else:
        raise AssertionError("no breach")
    assert decoder.message is not None
    deltas = len(delivered) - 2
    # The breaching delta is delivered as an event but not applied.
    assert len(decoder.message.text) == (deltas - 1) * 1000 <= limit


def _decode(chunks: list[bytes], limit: int) -> tuple[list[Any], Any, dict[str, Any] | None]:
    """(events delivered, (error type, size) or None, message JSON) over `chunks`."""
    decoder = wire.MessageStreamDecoder(max_message_bytes=limit)
    events: list[Any] = []
    error: Any = None
    try:
        for chunk in chunks:
            events += decoder.feed(chunk)
        decoder.close()
    except wire.WireError as exc:
        error = (type(exc), getattr(exc, "size", None))
    message = decoder.message
    return events, error, None if message is None else message.to_dict()


@settings(max_examples=80)
@given(stream_event_sequences(), st.data())
def test_the_breach_is_at_the_same_point_in_any_chunking(
    sequence: tuple[list[dict[str, Any]], dict[str, Any]], data: st.DataObject
) -> None:
    objs, final = sequence
    raw = encode_events(objs)
    whole = wire.MessageAccumulator()
    for obj in objs:
        feed(whole, obj)
    total = whole.counted_bytes
    limit = data.draw(st.integers(1, total + 10), label="limit")
    expected = _decode([raw], limit)
    _, error, message = expected
    if limit >= total:
        assert error is None
        assert message == final
    else:
        assert error is not None
        assert error[0] is wire.MessageTooLargeError
        assert error[1] > limit
    chunks = data.draw(chunkings(raw, max_chunks=50), label="chunks")
    assert _decode(chunks, limit) == expected


def test_a_value_too_deep_for_the_json_encoder_is_still_counted() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    acc = wire.MessageAccumulator()
    for obj in (START, TEXT_START):
        feed(acc, obj)
    before = acc.counted_bytes
    acc.feed(wire.ContentBlockDelta(index=0, delta=wire.CitationsDelta(citation={"x": deep})))
    assert acc.counted_bytes - before >= 200_000
