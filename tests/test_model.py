"""Every API class against its own schema, written here independently of `wire._model`:
exact round trips with unknown and missing keys, and only `EventDecodeError` for bad JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple, assert_type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wire
from wire._batches import (
    BatchResult,
    CanceledResult,
    DeletedMessageBatch,
    ErroredResult,
    ExpiredResult,
    MessageBatch,
    Model,
    Page,
    RequestCounts,
    SucceededResult,
    UnknownResult,
)
from wire._errors import EventDecodeError
from wire._events import UnknownEvent
from wire.testing.strategies import json_objects

JSON = Any


class F(NamedTuple):
    """One always-sent key: valid values, the JSON types accepted, and whether it is required."""

    values: st.SearchStrategy[JSON]
    accepts: tuple[type, ...]
    required: bool = False


class Schema(NamedTuple):
    name: str
    parse: Callable[[JSON], Any]
    tag: str | None  # the fixed "type", when the class has one
    fields: dict[str, F]


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
WRONG = [None, True, 7, 1.5, "s", [], [1], {}, {"a": 1}]

STR = F(st.text(max_size=8), (str,))
OPT_STR = F(st.none() | st.text(max_size=8), (str, type(None)))
INT = F(st.integers(-(2**64), 2**64), (int,))
BOOL = F(st.booleans(), (bool,))
OBJ = F(json_objects(max_leaves=5), (dict,))


def objects(schema: Schema, *, typed: bool = False) -> st.SearchStrategy[dict[str, JSON]]:
    """Dicts of `schema`: any always-sent key may be missing, unknown keys may be added.

    `typed`: the "type" key is always there (as a dispatcher needs it).
    """

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, JSON]:
        d: dict[str, JSON] = {}
        if schema.tag is not None and (typed or draw(st.booleans())):
            d["type"] = schema.tag
        for key, f in schema.fields.items():
            if f.required or draw(st.booleans()):
                d[key] = draw(f.values)
        known = {"type", *schema.fields}
        unknown = st.text(min_size=1, max_size=6).filter(lambda k: k not in known)
        d.update(draw(st.dictionaries(unknown, ANY_JSON, max_size=3)))
        return d

    return build()


def unknown_type(known: set[str]) -> F:
    return F(st.text(max_size=8).filter(lambda t: t not in known), (str,), required=True)


def union(*schemas: Schema) -> st.SearchStrategy[dict[str, JSON]]:
    return st.one_of([objects(s, typed=True) for s in schemas])


def nested(schema: Schema) -> F:
    return F(objects(schema), (dict,))


def tool(
    cls: type[wire.ToolUseBlock | wire.ServerToolUseBlock | wire.MCPToolUseBlock], tag: str
) -> Schema:
    return Schema(cls.__name__, cls.from_dict, tag, {"id": STR, "name": STR, "input": OBJ})


BLOCKS = [
    Schema("TextBlock", wire.TextBlock.from_dict, "text", {"text": STR}),
    Schema(
        "ThinkingBlock",
        wire.ThinkingBlock.from_dict,
        "thinking",
        {"thinking": STR, "signature": STR},
    ),
    Schema(
        "RedactedThinkingBlock",
        wire.RedactedThinkingBlock.from_dict,
        "redacted_thinking",
        {"data": STR},
    ),
    tool(wire.ToolUseBlock, "tool_use"),
    tool(wire.ServerToolUseBlock, "server_tool_use"),
    tool(wire.MCPToolUseBlock, "mcp_tool_use"),
]
BLOCK_TYPES = {s.tag for s in BLOCKS if s.tag}
BLOCKS.append(
    Schema("UnknownBlock", wire.UnknownBlock.from_dict, None, {"type": unknown_type(BLOCK_TYPES)})
)
BLOCK = F(union(*BLOCKS), (dict,), required=True)

USAGE = Schema("Usage", wire.Usage.from_dict, None, {"input_tokens": INT, "output_tokens": INT})
MESSAGE = Schema(
    "Message",
    wire.Message.from_dict,
    None,
    {
        "id": STR,
        "type": STR,
        "role": STR,
        "model": STR,
        "content": F(st.lists(BLOCK.values, max_size=3), (list,)),
        "stop_reason": OPT_STR,
        "stop_sequence": OPT_STR,
        "usage": nested(USAGE),
    },
)

DELTAS = [
    Schema("TextDelta", wire.TextDelta.from_dict, "text_delta", {"text": STR}),
    Schema(
        "InputJSONDelta", wire.InputJSONDelta.from_dict, "input_json_delta", {"partial_json": STR}
    ),
    Schema("ThinkingDelta", wire.ThinkingDelta.from_dict, "thinking_delta", {"thinking": STR}),
    Schema("SignatureDelta", wire.SignatureDelta.from_dict, "signature_delta", {"signature": STR}),
    Schema("CitationsDelta", wire.CitationsDelta.from_dict, "citations_delta", {"citation": OBJ}),
]
DELTA_TYPES = {s.tag for s in DELTAS if s.tag}
DELTAS.append(
    Schema("UnknownDelta", wire.UnknownDelta.from_dict, None, {"type": unknown_type(DELTA_TYPES)})
)

EVENTS = [
    Schema(
        "MessageStart", wire.MessageStart.from_dict, "message_start", {"message": nested(MESSAGE)}
    ),
    Schema(
        "ContentBlockStart",
        wire.ContentBlockStart.from_dict,
        "content_block_start",
        {"index": INT, "content_block": BLOCK},
    ),
    Schema(
        "ContentBlockDelta",
        wire.ContentBlockDelta.from_dict,
        "content_block_delta",
        {"index": INT, "delta": F(union(*DELTAS), (dict,), required=True)},
    ),
    Schema(
        "ContentBlockStop", wire.ContentBlockStop.from_dict, "content_block_stop", {"index": INT}
    ),
    Schema(
        "MessageDelta", wire.MessageDelta.from_dict, "message_delta", {"delta": OBJ, "usage": OBJ}
    ),
    Schema("MessageStop", wire.MessageStop.from_dict, "message_stop", {}),
    Schema("Ping", wire.Ping.from_dict, "ping", {}),
    Schema("StreamError", wire.StreamError.from_dict, "error", {"error": OBJ}),
]

MODEL = Schema(
    "Model",
    Model.from_dict,
    None,
    {"type": STR, "id": STR, "display_name": STR, "created_at": STR},
)
COUNTS = Schema(
    "RequestCounts",
    RequestCounts.from_dict,
    None,
    dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), INT),
)
RESULTS = [
    Schema("SucceededResult", SucceededResult.from_dict, "succeeded", {"message": nested(MESSAGE)}),
    Schema("ErroredResult", ErroredResult.from_dict, "errored", {"error": OBJ}),
    Schema("CanceledResult", CanceledResult.from_dict, "canceled", {}),
    Schema("ExpiredResult", ExpiredResult.from_dict, "expired", {}),
]
RESULT_TYPES = {s.tag for s in RESULTS if s.tag}
RESULTS.append(
    Schema("UnknownResult", UnknownResult.from_dict, None, {"type": unknown_type(RESULT_TYPES)})
)
BATCHES = [
    MODEL,
    COUNTS,
    Schema(
        "MessageBatch",
        MessageBatch.from_dict,
        None,
        {
            "id": STR,
            "type": STR,
            "processing_status": STR,
            "request_counts": nested(COUNTS),
            "created_at": STR,
            "expires_at": STR,
            "ended_at": OPT_STR,
            "cancel_initiated_at": OPT_STR,
            "archived_at": OPT_STR,
            "results_url": OPT_STR,
        },
    ),
    Schema("DeletedMessageBatch", DeletedMessageBatch.from_dict, None, {"id": STR, "type": STR}),
    Schema(
        "Page",
        lambda d: Page.from_dict(d, Model.from_dict),
        None,
        {
            "data": F(st.lists(objects(MODEL), max_size=3), (list,)),
            "has_more": BOOL,
            "first_id": OPT_STR,
            "last_id": OPT_STR,
        },
    ),
    *RESULTS,
    Schema(
        "BatchResult",
        BatchResult.from_dict,
        None,
        {
            "custom_id": F(STR.values, (str,), required=True),
            "result": F(union(*RESULTS), (dict,), required=True),
        },
    ),
]

SCHEMAS = [*BLOCKS, USAGE, MESSAGE, *DELTAS, *EVENTS, *BATCHES]
BY_NAME = {s.name: s for s in SCHEMAS}


def test_every_api_class_has_a_schema() -> None:
    classes = {
        name
        for module in (wire._message, wire._events, wire._batches)
        for name in module.__all__
        if isinstance(getattr(module, name), type)
        and hasattr(getattr(module, name), "from_dict")
        and dataclasses.is_dataclass(getattr(module, name))
    }
    assert classes - {"UnknownEvent"} == set(BY_NAME)


@pytest.mark.parametrize("name", sorted(BY_NAME))
@settings(max_examples=20)
@given(data=st.data())
def test_round_trip_with_unknown_and_missing_keys(name: str, data: st.DataObject) -> None:
    schema = BY_NAME[name]
    d = data.draw(objects(schema))
    obj = schema.parse(d)
    assert obj.to_dict() == d
    always = {*schema.fields, *(("type",) if schema.tag else ())}
    assert obj.omitted == always - set(d)
    assert dict(obj.extra) == {k: v for k, v in d.items() if k not in always}
    assert schema.parse(obj.to_dict()) == obj


@pytest.mark.parametrize("name", sorted(BY_NAME))
@settings(max_examples=20)
@given(data=st.data())
def test_a_wrong_json_type_is_an_event_decode_error(name: str, data: st.DataObject) -> None:
    schema = BY_NAME[name]
    d = data.draw(objects(schema))
    if schema.fields:
        key = data.draw(st.sampled_from(sorted(schema.fields)))
        bad = [v for v in WRONG if type(v) not in schema.fields[key].accepts]
        d[key] = data.draw(st.sampled_from(bad))
        with pytest.raises(EventDecodeError) as info:
            schema.parse(d)
        assert info.value.reason
    with pytest.raises(EventDecodeError):
        schema.parse(data.draw(st.sampled_from([None, 1, "x", [d]])))


@pytest.mark.parametrize("name", sorted(BY_NAME))
@settings(max_examples=20)
@given(data=st.data())
def test_any_json_either_round_trips_or_is_an_event_decode_error(
    name: str, data: st.DataObject
) -> None:
    schema = BY_NAME[name]
    keys = st.sampled_from(sorted({"type", *schema.fields})) | st.text(max_size=4)
    d = data.draw(st.dictionaries(keys, ANY_JSON, max_size=6))
    try:
        obj = schema.parse(d)
    except EventDecodeError:
        return
    assert obj.to_dict() == d


REQUIRED = [(s.name, k) for s in SCHEMAS for k, f in s.fields.items() if f.required]


@pytest.mark.parametrize(("name", "key"), REQUIRED)
@settings(max_examples=10)
@given(data=st.data())
def test_a_missing_required_key_is_refused(name: str, key: str, data: st.DataObject) -> None:
    schema = BY_NAME[name]
    d = data.draw(objects(schema))
    del d[key]
    with pytest.raises(EventDecodeError, match=f"'{key}' is missing"):
        schema.parse(d)


@settings(max_examples=50)
@given(json_objects(max_leaves=6), st.text(max_size=6))
def test_unknown_event_keeps_the_whole_object(d: dict[str, JSON], name: str) -> None:
    event = UnknownEvent.from_dict(d, name=name)
    assert event.to_dict() == d
    assert event.type == (d["type"] if type(d.get("type")) is str else name)


def test_missing_keys_take_the_field_defaults() -> None:
    message = wire.Message.from_dict({})
    assert message == wire.Message(omitted=message.omitted)
    assert (message.type, message.role, message.usage) == ("message", "assistant", wire.Usage())
    assert message.to_dict() == {}


def test_objects_are_frozen_and_slotted() -> None:
    block = wire.TextBlock(text="a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        block.text = "b"  # type: ignore[misc]
    assert not hasattr(block, "__dict__")


def test_repr_shows_fields_then_a_non_empty_extra() -> None:
    assert repr(wire.TextDelta(text="hi")) == "TextDelta(text='hi')"
    block = wire.TextBlock.from_dict({"type": "text", "text": "a", "citations": None})
    assert repr(block) == "TextBlock(text='a', extra={'citations': None})"


def test_unknown_event_refuses_a_non_object() -> None:
    with pytest.raises(EventDecodeError):
        UnknownEvent.from_dict([1], name="x")


def test_a_tagged_class_refuses_another_type() -> None:
    # TextBlock.to_dict() could only answer "text": refusing keeps the round trip exact.
    with pytest.raises(EventDecodeError, match="'type' must be 'text'"):
        wire.TextBlock.from_dict({"type": "thinking", "text": "a"})
    with pytest.raises(EventDecodeError):
        wire.TextDelta.from_dict({"type": "thinking_delta", "text": "a"})


def test_the_exact_shape_shortcuts_keep_unknown_keys() -> None:
    # len(d) == 2 without "type" once took the shortcut and lost the unknown key.
    for d in ({"text": "a", "x": 1}, {"partial_json": "{", "x": 1}):
        cls = wire.TextDelta if "text" in d else wire.InputJSONDelta
        assert cls.from_dict(d).to_dict() == d
    event = {"index": 0, "delta": {"type": "text_delta", "text": "a"}, "x": None}
    assert wire.ContentBlockDelta.from_dict(event).to_dict() == event


def test_from_dict_is_typed_as_the_class() -> None:
    # Checked by mypy (assert_type is a no-op at run time); from_dict used to return Any.
    assert_type(wire.ToolUseBlock.from_dict({"type": "tool_use"}), wire.ToolUseBlock)
    assert_type(wire.Message.from_dict({}), wire.Message)
    assert_type(wire.ContentBlockDelta.from_dict({"delta": {"type": "x"}}), wire.ContentBlockDelta)
    assert_type(Page.from_dict({"data": []}, Model.from_dict), Page[Model])
    assert_type(CanceledResult.from_dict({"type": "canceled"}), CanceledResult)
