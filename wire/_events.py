"""Typed Messages stream events, and `parse_stream_event` (SSE event -> typed event).

Layer: core, above `_sse` and `_message`. Rule: dispatch on the JSON `"type"` (the
SSE `event:` name is advisory); unknown event and delta types pass through
whole as `UnknownEvent` / `UnknownDelta`; data that is not the JSON object the
grammar promises raises `EventDecodeError` naming the event and the reason.
Every event and delta keeps unknown keys in `extra`, so `to_dict()` gives back
exactly the JSON that arrived.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, TypeAlias

from ._errors import APIError, EventDecodeError, error_class_for
from ._message import ContentBlock, Message, content_block_from_dict
from ._model import (
    NO_EXTRA,
    NO_KEYS,
    APIObject,
    Unknown,
    copy_json,
    decode,
    integer,
    json_object,
    nested,
    one_of,
    string,
    typed,
)
from ._sse import ServerSentEvent

__all__ = [
    "CitationsDelta",
    "ContentBlockDelta",
    "ContentBlockStart",
    "ContentBlockStop",
    "Delta",
    "InputJSONDelta",
    "MessageDelta",
    "MessageStart",
    "MessageStop",
    "Ping",
    "SignatureDelta",
    "StreamError",
    "StreamEvent",
    "TextDelta",
    "ThinkingDelta",
    "UnknownDelta",
    "UnknownEvent",
    "delta_from_dict",
    "parse_stream_event",
    "stream_event_from_dict",
]

# --- deltas ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TextDelta(APIObject):
    """`text_delta`: text to append to a text block."""

    type: ClassVar[str] = "text_delta"
    text: str = string()

    @classmethod
    def from_dict(cls, d: Any) -> Self:
        if (
            type(d) is dict
            and len(d) == 2
            and d.get("type") == "text_delta"
            and type(d.get("text")) is str
        ):
            return _text_delta(d["text"])  # type: ignore[return-value]  # the common shape
        return decode(cls, d)


@dataclass(frozen=True, slots=True, kw_only=True)
class InputJSONDelta(APIObject):
    """`input_json_delta`: the next fragment of a tool-use block's JSON input."""

    type: ClassVar[str] = "input_json_delta"
    partial_json: str = string()

    @classmethod
    def from_dict(cls, d: Any) -> Self:
        if (  # the common, exact shape
            type(d) is dict
            and len(d) == 2
            and d.get("type") == "input_json_delta"
            and type(d.get("partial_json")) is str
        ):
            return _input_json_delta(d["partial_json"])  # type: ignore[return-value]
        return decode(cls, d)


@dataclass(frozen=True, slots=True, kw_only=True)
class ThinkingDelta(APIObject):
    """`thinking_delta`: reasoning text to append to a thinking block."""

    type: ClassVar[str] = "thinking_delta"
    thinking: str = string()


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureDelta(APIObject):
    """`signature_delta`: the thinking block's signature (replaces, never appends)."""

    type: ClassVar[str] = "signature_delta"
    signature: str = string()


@dataclass(frozen=True, slots=True, kw_only=True)
class CitationsDelta(APIObject):
    """`citations_delta`: one citation to append to a text block's `citations`."""

    type: ClassVar[str] = "citations_delta"
    citation: dict[str, Any] = json_object()


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownDelta(Unknown):
    """A delta of a type wire does not know; it leaves its block untouched."""

    what: ClassVar[str] = "content_block_delta"


Delta: TypeAlias = (
    TextDelta | InputJSONDelta | ThinkingDelta | SignatureDelta | CitationsDelta | UnknownDelta
)

_DELTAS: dict[str, type[Delta]] = {
    cls.type: cls
    for cls in (TextDelta, InputJSONDelta, ThinkingDelta, SignatureDelta, CitationsDelta)
}


def delta_from_dict(d: Any) -> Delta:
    """The typed delta for a `delta` object; unknown types become `UnknownDelta`."""
    if type(d) is not dict:
        raise EventDecodeError("content_block_delta", "'delta' must be an object")
    delta_type = d.get("type")
    if type(delta_type) is not str:
        raise EventDecodeError("content_block_delta", "'delta.type' must be a string")
    return _DELTAS.get(delta_type, UnknownDelta).from_dict(d)


# --- events ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageStart(APIObject):
    """`message_start`: the message shell (empty content, input-side usage)."""

    type: ClassVar[str] = "message_start"
    message: Message = nested(Message)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentBlockStart(APIObject):
    """`content_block_start`: block `index` begins with `content_block` as its shell."""

    type: ClassVar[str] = "content_block_start"
    index: int = integer()
    content_block: ContentBlock = one_of(content_block_from_dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentBlockDelta(APIObject):
    """`content_block_delta`: `delta` applies to block `index`."""

    type: ClassVar[str] = "content_block_delta"
    index: int = integer()
    delta: Delta = one_of(delta_from_dict)

    @classmethod
    def from_dict(cls, d: Any) -> Self:
        if type(d) is dict and len(d) == 3 and d.get("type") == "content_block_delta":
            # the common, exact shape: type, index, delta
            index = d.get("index")
            if type(index) is int and "delta" in d:
                return _content_block_delta(index, delta_from_dict(d["delta"]))  # type: ignore[return-value]
        return decode(cls, d)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentBlockStop(APIObject):
    """`content_block_stop`: block `index` is complete."""

    type: ClassVar[str] = "content_block_stop"
    index: int = integer()


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageDelta(APIObject):
    """`message_delta`: top-level changes (`delta`) and cumulative `usage` counts.

    Every key of `delta` is set on the message; every key of `usage` overwrites
    the message's usage; other top-level keys (e.g. `context_management`, in
    `extra`) are set on the message too.
    """

    type: ClassVar[str] = "message_delta"
    delta: Mapping[str, Any] = json_object()
    usage: Mapping[str, Any] = json_object()

    @property
    def stop_reason(self) -> str | None:
        return typed(self.delta, "stop_reason", str)

    @property
    def stop_sequence(self) -> str | None:
        return typed(self.delta, "stop_sequence", str)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageStop(APIObject):
    """`message_stop`: the last event of a complete stream."""

    type: ClassVar[str] = "message_stop"


@dataclass(frozen=True, slots=True, kw_only=True)
class Ping(APIObject):
    """`ping`: a keep-alive; changes nothing."""

    type: ClassVar[str] = "ping"


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamError(APIObject):
    """`error`: the API's error envelope sent inside a 200 stream (e.g. `overloaded_error`)."""

    type: ClassVar[str] = "error"
    error: Mapping[str, Any] = json_object()

    @property
    def error_type(self) -> str | None:
        return typed(self.error, "type", str)

    @property
    def message(self) -> str:
        return typed(self.error, "message", str, "")

    def to_exception(self, *, status: int = 200, request_id: str | None = None) -> APIError:
        """The `APIError` subclass this error's `error.type` names, keeping `status`."""
        if request_id is None:
            rid = self.extra.get("request_id")
            request_id = rid if type(rid) is str else None
        cls = error_class_for(None, self.error_type)
        return cls(
            self.message,
            status=status,
            type=self.error_type,
            request_id=request_id,
            body=self.to_dict(),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent:
    """An event whose JSON `type` wire does not know, carrying the raw object.

    Not an `APIObject`: `data` is the whole object, `type` included, and an
    object without a string `type` is named by its SSE `event:` field instead.
    """

    type: str
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Any, *, name: str = "") -> Self:
        """The event for `d`, named by its `type` if that is a string, else by `name`."""
        if type(d) is not dict:
            raise EventDecodeError(name or "event", f"expected an object, not {type(d).__name__}")
        event_type = d.get("type")
        return cls(type=event_type if type(event_type) is str else name, data=d)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = copy_json(dict(self.data))
        return result


StreamEvent: TypeAlias = (
    MessageStart
    | ContentBlockStart
    | ContentBlockDelta
    | ContentBlockStop
    | MessageDelta
    | MessageStop
    | Ping
    | StreamError
    | UnknownEvent
)

# --- parsing ---------------------------------------------------------------------------

# Constructors for the hot path (one per text or tool-input fragment). They
# skip the frozen dataclass's keyword __init__, which pays for
# `object.__setattr__` by name, for values already checked (h11's `_parsed`
# bypass); the objects are the same as the keyword-built ones. `extra` and
# `omitted` are slots of the shared base.
_new = object.__new__
_set_extra = APIObject.__dict__["extra"].__set__
_set_omitted = APIObject.__dict__["omitted"].__set__
_set_text = TextDelta.__dict__["text"].__set__
_set_json = InputJSONDelta.__dict__["partial_json"].__set__
_set_index = ContentBlockDelta.__dict__["index"].__set__
_set_delta = ContentBlockDelta.__dict__["delta"].__set__


def _text_delta(text: str) -> TextDelta:
    delta: TextDelta = _new(TextDelta)
    _set_text(delta, text)
    _set_extra(delta, NO_EXTRA)
    _set_omitted(delta, NO_KEYS)
    return delta


def _input_json_delta(partial_json: str) -> InputJSONDelta:
    delta: InputJSONDelta = _new(InputJSONDelta)
    _set_json(delta, partial_json)
    _set_extra(delta, NO_EXTRA)
    _set_omitted(delta, NO_KEYS)
    return delta


def _content_block_delta(index: int, delta: Delta) -> ContentBlockDelta:
    event: ContentBlockDelta = _new(ContentBlockDelta)
    _set_index(event, index)
    _set_delta(event, delta)
    _set_extra(event, NO_EXTRA)
    _set_omitted(event, NO_KEYS)
    return event


# The API's text and tool-input deltas arrive in one exact compact shape each.
# Recognising it and decoding only the string (with the same C scanner
# json.loads uses, strict) skips the general parse; any other bytes, down to
# one space or one extra key, take the general path. tests/test_events.py
# proves both paths agree.
_DELTA_HEAD = '{"type":"content_block_delta","index":'
_TEXT_MID = ',"delta":{"type":"text_delta","text":"'
_JSON_MID = ',"delta":{"type":"input_json_delta","partial_json":"'
_HEAD_LEN = len(_DELTA_HEAD)
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


def _fast_delta(data: str) -> ContentBlockDelta | None:
    comma = data.find(",", _HEAD_LEN, _HEAD_LEN + 11)
    digits = data[_HEAD_LEN:comma]
    if (
        comma < 0
        or not (digits.isdigit() and digits.isascii())
        or (digits[0] == "0" and len(digits) > 1)
    ):
        return None
    if data.startswith(_TEXT_MID, comma):
        make: Callable[[str], Delta] = _text_delta
        start = comma + len(_TEXT_MID)
    elif data.startswith(_JSON_MID, comma):
        make = _input_json_delta
        start = comma + len(_JSON_MID)
    else:
        return None
    try:
        value, end = _scanstring(data, start, True)
    except ValueError:
        return None
    if end != len(data) - 2 or not data.endswith("}}"):
        return None
    return _content_block_delta(int(digits), make(value))


_EVENTS: dict[str, type[StreamEvent]] = {
    cls.type: cls
    for cls in (
        MessageStart,
        ContentBlockStart,
        ContentBlockDelta,
        ContentBlockStop,
        MessageDelta,
        MessageStop,
        Ping,
        StreamError,
    )
}


def stream_event_from_dict(d: Any, *, name: str = "") -> StreamEvent:
    """The typed event for an event's JSON object (`name` only labels errors)."""
    if type(d) is not dict:
        raise EventDecodeError(name or "event", f"data is JSON {type(d).__name__}, not an object")
    event_type = d.get("type")
    cls = _EVENTS.get(event_type) if type(event_type) is str else None
    if cls is None:
        return UnknownEvent.from_dict(d, name=name)
    try:
        return cls.from_dict(d)
    except EventDecodeError as exc:
        if exc.event == event_type:
            raise
        raise EventDecodeError(str(event_type), f"{exc.event}: {exc.reason}") from None


_loads = json.loads


def parse_stream_event(sse: ServerSentEvent) -> StreamEvent:
    """Turn one SSE event into a typed stream event.

    Raises `EventDecodeError` (a `RemoteProtocolError`) when the data is not a
    JSON object or a known event's fields have the wrong JSON types. An object
    with an unknown (or no) `type` becomes `UnknownEvent`.
    """
    data = sse.data
    if data.startswith(_DELTA_HEAD):
        event = _fast_delta(data)
        if event is not None:
            return event
    try:
        d = _loads(data)
    except ValueError as exc:
        raise EventDecodeError(sse.event, f"data is not JSON ({exc})") from None
    except RecursionError:
        raise EventDecodeError(sse.event, "data is nested too deeply") from None
    return stream_event_from_dict(d, name=sse.event)
