"""Typed events and API objects: dispatch, forward compatibility, exact `to_dict()`, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wire
from wire._message import content_block_from_dict
from wire.testing.strategies import messages, stream_event_sequences


def parse(obj: Any, event: str = "x") -> wire.StreamEvent:
    return wire.parse_stream_event(wire.ServerSentEvent(event=event, data=json.dumps(obj)))


def test_text_delta() -> None:
    event = parse(
        {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "hé"}}
    )
    assert event == wire.ContentBlockDelta(index=2, delta=wire.TextDelta(text="hé"))


def test_dispatch_uses_json_type_not_event_name() -> None:
    assert isinstance(parse({"type": "ping"}, event="message_stop"), wire.Ping)


@pytest.mark.parametrize(
    ("obj", "cls"),
    [
        ({"type": "message_stop"}, wire.MessageStop),
        ({"type": "ping"}, wire.Ping),
        ({"type": "content_block_stop", "index": 0}, wire.ContentBlockStop),
        (
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 3},
            },
            wire.MessageDelta,
        ),
        (
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            wire.StreamError,
        ),
        (
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            wire.ContentBlockStart,
        ),
    ],
)
def test_known_events(obj: dict[str, Any], cls: type) -> None:
    event = parse(obj)
    assert isinstance(event, cls)
    assert event.to_dict() == obj


def test_unknown_event_keeps_the_raw_object() -> None:
    obj = {"type": "compaction_progress", "n": [1, {"a": None}]}
    event = parse(obj)
    assert event == wire.UnknownEvent(type="compaction_progress", data=obj)
    assert event.to_dict() == obj


def test_object_without_type_is_an_unknown_event_named_by_sse() -> None:
    event = parse({"foo": 1}, event="mystery")
    assert isinstance(event, wire.UnknownEvent)
    assert event.type == "mystery"


@pytest.mark.parametrize(
    ("delta", "cls"),
    [
        ({"type": "input_json_delta", "partial_json": '{"a'}, wire.InputJSONDelta),
        ({"type": "thinking_delta", "thinking": "hmm"}, wire.ThinkingDelta),
        ({"type": "signature_delta", "signature": "EqQB"}, wire.SignatureDelta),
        (
            {"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "x"}},
            wire.CitationsDelta,
        ),
        ({"type": "compaction_delta", "content": "..."}, wire.UnknownDelta),
        ({"type": "text_delta", "text": "a", "new_field": 1}, wire.TextDelta),
    ],
)
def test_deltas_round_trip(delta: dict[str, Any], cls: type) -> None:
    obj = {"type": "content_block_delta", "index": 0, "delta": delta}
    event = parse(obj)
    assert isinstance(event, wire.ContentBlockDelta)
    assert isinstance(event.delta, cls)
    assert event.to_dict() == obj


def test_unknown_fields_survive_everywhere() -> None:
    obj = {
        "type": "content_block_start",
        "index": 0,
        "trace": "t1",
        "content_block": {
            "type": "tool_use",
            "id": "toolu_1",
            "name": "f",
            "input": {},
            "caller": {"type": "direct"},
            "toolset_name": None,
        },
    }
    event = parse(obj)
    assert isinstance(event, wire.ContentBlockStart)
    assert isinstance(event.content_block, wire.ToolUseBlock)
    assert event.content_block.extra["caller"] == {"type": "direct"}
    assert event.to_dict() == obj


def test_missing_keys_are_not_invented() -> None:
    obj = {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking"}}
    assert parse(obj).to_dict() == obj
    message = {"id": "msg_1", "type": "message", "content": []}
    assert wire.Message.from_dict(message).to_dict() == message


def test_null_stays_null() -> None:
    block = {"type": "text", "text": "x", "citations": None}
    assert content_block_from_dict(block).to_dict() == block


def test_to_dict_returns_a_fresh_copy() -> None:
    event = parse({"type": "ping", "meta": {"a": [1]}})
    out = event.to_dict()
    out["meta"]["a"].append(2)
    assert event.to_dict() == {"type": "ping", "meta": {"a": [1]}}


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ("not json", "not JSON"),
        ("", "not JSON"),
        ("[1]", "not an object"),
        (
            '{"type": "content_block_delta", "index": "0", "delta": {"type": "text_delta"}}',
            "'index' must be an integer",
        ),
        (
            '{"type": "content_block_delta", "index": 0,'
            ' "delta": {"type": "text_delta", "text": 5}}',
            "'text' must be a string",
        ),
        ('{"type": "message_start", "message": []}', "'message' must be an object"),
        (
            '{"type": "content_block_start", "index": 0, "content_block": {"type": 3}}',
            "'type' must be a string",
        ),
    ],
)
def test_malformed_payload_names_the_event_and_reason(data: str, needle: str) -> None:
    with pytest.raises(wire.EventDecodeError) as info:
        wire.parse_stream_event(wire.ServerSentEvent(event="content_block_delta", data=data))
    assert needle in str(info.value)
    assert info.value.event
    assert isinstance(info.value, wire.RemoteProtocolError)


def test_stream_error_maps_by_error_type() -> None:
    event = parse(
        {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"},
            "request_id": "req_1",
        }
    )
    assert isinstance(event, wire.StreamError)
    exc = event.to_exception()
    assert isinstance(exc, wire.OverloadedError)
    assert (exc.status, exc.type, exc.message, exc.request_id) == (
        200,
        "overloaded_error",
        "Overloaded",
        "req_1",
    )
    assert exc.retryable


def test_events_are_immutable() -> None:
    event = wire.Ping()
    with pytest.raises(AttributeError):
        event.extra = {}  # type: ignore[misc]


@given(messages())
def test_message_from_dict_to_dict_is_exact(message: dict[str, Any]) -> None:
    assert wire.Message.from_dict(message).to_dict() == message


@given(stream_event_sequences())
def test_every_event_round_trips(sequence: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    events, _ = sequence
    for obj in events:
        assert parse(obj).to_dict() == obj


# --- the text-delta fast path agrees with the general parse -------------------------------


def general_parse(data: str) -> object:
    """The event json.loads + dispatch give, or "error"."""
    try:
        return wire.stream_event_from_dict(json.loads(data), name="content_block_delta")
    except (ValueError, wire.EventDecodeError):
        return "error"


def fast_or_general(data: str) -> object:
    try:
        return wire.parse_stream_event(wire.ServerSentEvent(event="content_block_delta", data=data))
    except wire.EventDecodeError:
        return "error"


DELTA_KINDS = [("text_delta", "text"), ("input_json_delta", "partial_json")]


@given(st.integers(0, 10**12), st.text(), st.booleans(), st.sampled_from(DELTA_KINDS))
def test_fast_delta_equals_general_parse(
    index: int, text: str, ascii_only: bool, kind: tuple[str, str]
) -> None:
    obj = {"type": "content_block_delta", "index": index, "delta": {"type": kind[0], kind[1]: text}}
    data = json.dumps(obj, separators=(",", ":"), ensure_ascii=ascii_only)
    event = fast_or_general(data)
    assert event == general_parse(data)
    assert isinstance(event, wire.ContentBlockDelta)
    assert event.to_dict() == obj


@given(st.text(max_size=10), st.data())
def test_fast_delta_falls_back_on_any_deviation(text: str, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(DELTA_KINDS))
    base = json.dumps(
        {"type": "content_block_delta", "index": 3, "delta": {"type": kind[0], kind[1]: text}},
        separators=(",", ":"),
    )
    at = data.draw(st.integers(0, len(base)))
    edit = data.draw(st.sampled_from(["insert", "delete", "replace"]))
    char = data.draw(st.sampled_from([*' "\\}{,:0x\n-', "\\u00e9", "\\ud800", "é"]))
    if edit == "insert":
        mutated = base[:at] + char + base[at:]
    elif edit == "delete":
        mutated = base[:at] + base[at + 1 :]
    else:
        mutated = base[:at] + char + base[at + 1 :]
    assert fast_or_general(mutated) == general_parse(mutated)


@pytest.mark.parametrize(
    "data",
    [
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}',
        '{"type":"content_block_delta","index":07,"delta":{"type":"text_delta","text":"a"}}',
        '{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"a"}} ',
        '{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"a\\q"}}',
        '{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"a","b":1}}',
        '{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"\t"}}',
        '{"type":"content_block_delta","index":,"delta":{"type":"text_delta","text":"a"}}',
        '{"type":"content_block_delta","index":12345678901,"delta":{"type":"text_delta","text":"a"}}',
        '{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}',
        '{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":1}}',
    ],
)
def test_fast_delta_edge_cases(data: str) -> None:
    assert fast_or_general(data) == general_parse(data)
