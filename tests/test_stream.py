"""MessageAccumulator and MessageStreamDecoder: the message a stream builds, in any chunking."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wire
from tests.helpers import stream_decode
from wire.testing.strategies import chunkings, encode_events, stream_event_sequences

Sequence = tuple[list[dict[str, Any]], dict[str, Any]]


def sample() -> bytes:
    return (resources.files("wire") / "samples" / "tool_use.sse").read_bytes()


def accumulate(objs: list[dict[str, Any]]) -> wire.MessageAccumulator:
    acc = wire.MessageAccumulator()
    for obj in objs:
        acc.feed(wire.stream_event_from_dict(obj))
    return acc


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
        "usage": {
            "input_tokens": 10,
            "output_tokens": 1,
            "cache_read_input_tokens": 7,
            "service_tier": "standard",
        },
    },
}


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def delta(index: int, d: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": d}


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


# --- the bundled capture ------------------------------------------------------------------


def test_sample_decodes_to_the_expected_message() -> None:
    events, message = stream_decode([sample()])
    assert isinstance(events[0], wire.MessageStart)
    assert any(isinstance(e, wire.Ping) for e in events)
    assert isinstance(events[-1], wire.MessageStop)
    assert message is not None
    assert message.stop_reason == "tool_use"
    assert message.usage.output_tokens == 89
    assert message.usage.input_tokens == 472
    text, tool = message.content
    assert isinstance(text, wire.TextBlock)
    assert text.text.startswith("Okay, let me check")
    assert "東京" in text.text
    assert isinstance(tool, wire.ToolUseBlock)
    assert tool.input == {"location": "Paris, FR", "unit": "celsius", "days": 3}


def test_sample_in_one_byte_chunks() -> None:
    data = sample()
    assert stream_decode([data[i : i + 1] for i in range(len(data))]) == stream_decode([data])


# --- properties -------------------------------------------------------------------------


@given(stream_event_sequences(), st.data())
def test_any_chunking_builds_the_non_streamed_message(seq: Sequence, data: st.DataObject) -> None:
    objs, final = seq
    stream = encode_events(objs)
    whole_events, whole_message = stream_decode([stream])
    events, message = stream_decode(data.draw(chunkings(stream)))
    assert events == whole_events
    assert [e.to_dict() for e in events] == objs
    assert message is not None
    assert message == whole_message
    assert message.to_dict() == final


@given(stream_event_sequences(), st.data())
def test_snapshots_at_every_event_are_consistent(seq: Sequence, data: st.DataObject) -> None:
    objs, final = seq
    acc = wire.MessageAccumulator()
    for obj in objs:
        acc.feed(wire.stream_event_from_dict(obj))
        snapshot = acc.message
        assert snapshot is not None
        assert len(snapshot.content) <= len(final["content"])
    assert acc.message is not None
    assert acc.message.to_dict() == final


@given(stream_event_sequences(max_blocks=3), st.data())
def test_truncated_stream_keeps_the_partial_message(seq: Sequence, data: st.DataObject) -> None:
    objs, _ = seq
    stream = encode_events(objs)
    cut = data.draw(st.integers(0, len(stream) - 1))
    decoder = wire.MessageStreamDecoder()
    decoder.feed(stream[:cut])
    with pytest.raises(wire.IncompleteStreamError) as info:
        decoder.close()
    assert info.value.partial_message == decoder.message
    assert isinstance(info.value, wire.RemoteProtocolError)


# --- accumulator rules --------------------------------------------------------------------


def test_usage_in_message_delta_is_cumulative_and_keeps_omitted_fields() -> None:
    acc = accumulate(
        [
            START,
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 5},
            },
            {
                "type": "message_delta",
                "delta": {},
                "usage": {"output_tokens": 9, "input_tokens": 12},
            },
        ]
    )
    assert acc.message is not None
    assert acc.message.usage.to_dict() == {
        "input_tokens": 12,
        "output_tokens": 9,
        "cache_read_input_tokens": 7,
        "service_tier": "standard",
    }
    assert acc.message.stop_reason == "end_turn"


def test_message_delta_sets_unknown_delta_keys_and_top_level_keys() -> None:
    acc = accumulate(
        [
            START,
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "refusal",
                    "stop_sequence": None,
                    "stop_details": {"type": "refusal", "category": "cyber"},
                    "container": None,
                },
                "usage": {"output_tokens": 2},
                "context_management": {"applied_edits": []},
            },
        ]
    )
    assert acc.message is not None
    out = acc.message.to_dict()
    assert out["stop_details"] == {"type": "refusal", "category": "cyber"}
    assert out["container"] is None
    assert out["context_management"] == {"applied_edits": []}
    assert out["stop_reason"] == "refusal"


def test_thinking_and_signature() -> None:
    acc = accumulate(
        [
            START,
            block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
            delta(0, {"type": "thinking_delta", "thinking": "Let me "}),
            delta(0, {"type": "thinking_delta", "thinking": "think."}),
            delta(0, {"type": "signature_delta", "signature": "sig1"}),
            delta(0, {"type": "signature_delta", "signature": "sig2"}),  # replaces
            stop(0),
        ]
    )
    assert acc.message is not None
    assert acc.message.content[0].to_dict() == {
        "type": "thinking",
        "thinking": "Let me think.",
        "signature": "sig2",
    }


def test_citations_append_and_create_the_list() -> None:
    c1 = {"type": "char_location", "cited_text": "a", "document_index": 0}
    c2 = {"type": "page_location", "cited_text": "b", "document_index": 1}
    acc = accumulate(
        [
            START,
            block_start(0, {"type": "text", "text": ""}),
            delta(0, {"type": "citations_delta", "citation": c1}),
            delta(0, {"type": "text_delta", "text": "x"}),
            delta(0, {"type": "citations_delta", "citation": c2}),
            stop(0),
        ]
    )
    assert acc.message is not None
    block = acc.message.content[0]
    assert isinstance(block, wire.TextBlock)
    assert block.citations == [c1, c2]
    assert block.text == "x"


def test_tool_input_snapshot_at_every_fragment() -> None:
    fragments = ["", '{"city": "Par', 'is", "days": [1', ", 2]}"]
    expected = [{}, {}, {"city": "Paris", "days": [1]}, {"city": "Paris", "days": [1, 2]}]
    acc = accumulate(
        [START, block_start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}})]
    )
    for fragment, want in zip(fragments, expected, strict=True):
        acc.feed(
            wire.stream_event_from_dict(
                delta(0, {"type": "input_json_delta", "partial_json": fragment})
            )
        )
        assert acc.message is not None
        block = acc.message.content[0]
        assert isinstance(block, wire.ToolUseBlock)
        assert block.input == want


def test_no_fragments_keeps_the_shell_input() -> None:
    acc = accumulate(
        [
            START,
            block_start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
            delta(0, {"type": "input_json_delta", "partial_json": ""}),
            stop(0),
        ]
    )
    assert acc.message is not None
    assert acc.message.content[0].to_dict()["input"] == {}


def test_server_tool_use_input_streams_too() -> None:
    acc = accumulate(
        [
            START,
            block_start(
                0, {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}
            ),
            delta(0, {"type": "input_json_delta", "partial_json": '{"query": "x"}'}),
            stop(0),
        ]
    )
    assert acc.message is not None
    assert acc.message.content[0].to_dict()["input"] == {"query": "x"}


@pytest.mark.parametrize("text", ['{"a": 1}}garbage', '{"a": 1', "[1, 2]", '{"a": tru}'])
def test_broken_tool_input_raises_at_block_stop_naming_the_block(text: str) -> None:
    acc = accumulate(
        [
            START,
            block_start(0, {"type": "text", "text": "hi"}),
            stop(0),
            block_start(1, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
            delta(1, {"type": "input_json_delta", "partial_json": text}),
        ]
    )
    with pytest.raises(wire.InvalidToolInputError) as info:
        acc.feed(wire.ContentBlockStop(index=1))
    assert info.value.index == 1
    assert "content block 1" in str(info.value)
    assert acc.message is not None  # nothing lost
    assert acc.message.content[0].to_dict() == {"type": "text", "text": "hi"}


def test_tool_block_cut_by_max_tokens_keeps_its_best_parse() -> None:
    acc = accumulate(
        [
            START,
            block_start(0, {"type": "tool_use", "id": "t", "name": "f", "input": {}}),
            delta(0, {"type": "input_json_delta", "partial_json": '{"a": 1, "b": "x'}),
            {
                "type": "message_delta",
                "delta": {"stop_reason": "max_tokens"},
                "usage": {"output_tokens": 4},
            },
            {"type": "message_stop"},
        ]
    )
    assert acc.stopped
    assert acc.message is not None
    assert acc.message.content[0].to_dict()["input"] == {"a": 1}


def test_stray_events_do_not_crash() -> None:
    acc = accumulate(
        [
            delta(0, {"type": "text_delta", "text": "early"}),  # before message_start
            stop(3),
            START,
            delta(5, {"type": "text_delta", "text": "no such block"}),
            block_start(0, {"type": "text", "text": ""}),
            delta(0, {"type": "input_json_delta", "partial_json": "{"}),  # wrong kind of block
            delta(0, {"type": "signature_delta", "signature": "s"}),
            delta(0, {"type": "future_delta", "x": 1}),  # unknown: block untouched
            delta(0, {"type": "text_delta", "text": "ok"}),
            {"type": "future_event", "payload": 1},
            START,  # a second message_start is ignored
            stop(0),
            {"type": "message_stop"},
            delta(0, {"type": "text_delta", "text": " after stop"}),  # ignored
        ]
    )
    assert acc.message is not None
    assert acc.message.content[0].to_dict() == {"type": "text", "text": "ok"}


def test_unknown_block_passes_through() -> None:
    block = {
        "type": "web_search_tool_result",
        "tool_use_id": "s",
        "content": [{"type": "web_search_result", "url": "https://e.x", "title": "t"}],
    }
    acc = accumulate([START, block_start(0, block), stop(0)])
    assert acc.message is not None
    assert acc.message.content[0].to_dict() == block


def test_error_event_is_returned_and_raisable() -> None:
    stream = encode_events(
        [START, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}]
    )
    decoder = wire.MessageStreamDecoder()
    events = decoder.feed(stream)
    assert isinstance(events[-1], wire.StreamError)
    assert decoder.error is events[-1]
    with pytest.raises(wire.IncompleteStreamError, match="overloaded_error"):
        decoder.close()
    with pytest.raises(wire.OverloadedError):
        raise events[-1].to_exception()


def test_empty_body_is_incomplete_without_a_message() -> None:
    decoder = wire.MessageStreamDecoder()
    with pytest.raises(wire.IncompleteStreamError) as info:
        decoder.close()
    assert info.value.partial_message is None


def test_decode_error_keeps_what_came_before() -> None:
    decoder = wire.MessageStreamDecoder()
    decoder.feed(encode_events([START]))
    with pytest.raises(wire.EventDecodeError):
        decoder.feed(b"event: content_block_delta\ndata: {oops\n\n")
    assert decoder.message is not None
    assert decoder.message.id == "msg_1"


def test_snapshot_is_cached_until_something_changes() -> None:
    acc = accumulate([START, block_start(0, {"type": "text", "text": ""})])
    first = acc.message
    assert acc.message is first
    acc.feed(wire.Ping())
    assert acc.message is first
    acc.feed(wire.stream_event_from_dict(delta(0, {"type": "text_delta", "text": "a"})))
    assert acc.message is not first


def test_message_json_matches_the_wire_format() -> None:
    _, message = stream_decode([sample()])
    assert message is not None
    assert json.loads(json.dumps(message.to_dict())) == message.to_dict()


# --- hostile input ------------------------------------------------------------------------

_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 5),
    st.text(max_size=3),
    st.just([]),
    st.just({}),
    st.just({"type": "text_delta"}),
)


@st.composite
def _mutated(draw: st.DrawFn) -> list[dict[str, Any]]:
    objs, _ = draw(stream_event_sequences(max_blocks=3))
    objs = [dict(o) for o in objs]
    for _ in range(draw(st.integers(1, 4))):
        if not objs:
            break
        i = draw(st.integers(0, len(objs) - 1))
        action = draw(st.sampled_from(["drop", "dup", "swap", "retype", "junk"]))
        if action == "drop":
            del objs[i]
        elif action == "dup":
            objs.insert(i, objs[i])
        elif action == "swap":
            j = draw(st.integers(0, len(objs) - 1))
            objs[i], objs[j] = objs[j], objs[i]
        elif action == "retype":
            objs[i] = {
                **objs[i],
                "type": draw(
                    st.sampled_from(
                        ["message_start", "content_block_delta", "message_delta", "error", "nope"]
                    )
                ),
            }
        else:
            key = draw(st.sampled_from(sorted(objs[i])))
            objs[i] = {**objs[i], key: draw(_JUNK)}
    return objs


@given(_mutated(), st.data())
def test_broken_event_sequences_raise_only_documented_errors(
    objs: list[dict[str, Any]], data: st.DataObject
) -> None:
    stream = encode_events(objs)
    outcomes = []
    for chunks in ([stream], data.draw(chunkings(stream))):
        decoder = wire.MessageStreamDecoder()
        try:
            for chunk in chunks:
                decoder.feed(chunk)
            decoder.close()
            outcome: object = decoder.message
        except wire.WireError as exc:
            outcome = type(exc)
            if decoder.message is not None:
                decoder.message.to_dict()  # the partial message stays usable
        outcomes.append(outcome)
    assert outcomes[0] == outcomes[1]


@given(st.binary(max_size=300), st.data())
def test_arbitrary_bytes_raise_only_documented_errors(stream: bytes, data: st.DataObject) -> None:
    decoder = wire.MessageStreamDecoder(max_line_bytes=64, max_event_bytes=64)
    try:
        for chunk in data.draw(chunkings(stream)):
            decoder.feed(chunk)
        decoder.close()
    except wire.WireError:
        pass


def test_good_events_before_a_bad_one_are_returned_then_the_error() -> None:
    decoder = wire.MessageStreamDecoder()
    events = decoder.feed(encode_events([START]) + b"event: ping\ndata: {oops\n\n")
    assert [type(e) for e in events] == [wire.MessageStart]
    with pytest.raises(wire.EventDecodeError):
        decoder.feed(b"")
    assert decoder.message is not None


def test_null_counts_in_message_delta_keep_the_start_values() -> None:
    acc = accumulate(
        [
            START,
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {
                    "input_tokens": None,
                    "output_tokens": 7,
                    "cache_read_input_tokens": None,
                },
            },
        ]
    )
    assert acc.message is not None
    assert acc.message.usage.to_dict() == {
        "input_tokens": 10,
        "output_tokens": 7,
        "cache_read_input_tokens": None,
        "service_tier": "standard",
    }
