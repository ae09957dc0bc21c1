"""Typed Messages stream events, and `parse_stream_event` (SSE event -> typed event).

Layer: core, above `sse` and `types`. Rule: dispatch on the JSON `"type"` (the
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
from typing import Any, ClassVar, TypeAlias

from .errors import APIError, EventDecodeError, error_class_for
from .sse import ServerSentEvent
from .types import (
    _NO_EXTRA,
    _NO_KEYS,
    ContentBlock,
    Message,
    _int,
    _missing,
    _no_extra,
    _object,
    _out,
    _split,
    _str,
    _Unknown,
    content_block_from_dict,
    copy_json,
)

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
class TextDelta:
    """`text_delta`: text to append to a text block."""

    type: ClassVar[str] = "text_delta"
    text: str = ""
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TextDelta:
        if len(d) == 2 and type(d.get("text")) is str:  # the common, exact shape
            return _text_delta(d["text"])
        keys = ("type", "text")
        return cls(
            text=_str(d, "text", "text_delta"), extra=_split(d, keys), omitted=_missing(d, keys)
        )

    def to_dict(self) -> dict[str, Any]:
        return _out({"type": "text_delta", "text": self.text}, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class InputJSONDelta:
    """`input_json_delta`: the next fragment of a tool-use block's JSON input."""

    type: ClassVar[str] = "input_json_delta"
    partial_json: str = ""
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> InputJSONDelta:
        if len(d) == 2 and type(d.get("partial_json")) is str:  # the common, exact shape
            return _input_json_delta(d["partial_json"])
        keys = ("type", "partial_json")
        return cls(
            partial_json=_str(d, "partial_json", "input_json_delta"),
            extra=_split(d, keys),
            omitted=_missing(d, keys),
        )

    def to_dict(self) -> dict[str, Any]:
        core = {"type": "input_json_delta", "partial_json": self.partial_json}
        return _out(core, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class ThinkingDelta:
    """`thinking_delta`: reasoning text to append to a thinking block."""

    type: ClassVar[str] = "thinking_delta"
    thinking: str = ""
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ThinkingDelta:
        keys = ("type", "thinking")
        return cls(
            thinking=_str(d, "thinking", "thinking_delta"),
            extra=_split(d, keys),
            omitted=_missing(d, keys),
        )

    def to_dict(self) -> dict[str, Any]:
        return _out({"type": "thinking_delta", "thinking": self.thinking}, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureDelta:
    """`signature_delta`: the thinking block's signature (replaces, never appends)."""

    type: ClassVar[str] = "signature_delta"
    signature: str = ""
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SignatureDelta:
        keys = ("type", "signature")
        return cls(
            signature=_str(d, "signature", "signature_delta"),
            extra=_split(d, keys),
            omitted=_missing(d, keys),
        )

    def to_dict(self) -> dict[str, Any]:
        return _out(
            {"type": "signature_delta", "signature": self.signature}, self.omitted, self.extra
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CitationsDelta:
    """`citations_delta`: one citation to append to a text block's `citations`."""

    type: ClassVar[str] = "citations_delta"
    citation: dict[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CitationsDelta:
        keys = ("type", "citation")
        return cls(
            citation=_object(d, "citation", "citations_delta"),
            extra=_split(d, keys),
            omitted=_missing(d, keys),
        )

    def to_dict(self) -> dict[str, Any]:
        core = {"type": "citations_delta", "citation": copy_json(self.citation)}
        return _out(core, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownDelta(_Unknown):
    """A delta of a type wire does not know; it leaves its block untouched."""


Delta: TypeAlias = (
    TextDelta | InputJSONDelta | ThinkingDelta | SignatureDelta | CitationsDelta | UnknownDelta
)

_DELTAS: dict[str, Callable[[Mapping[str, Any]], Delta]] = {
    "text_delta": TextDelta.from_dict,
    "input_json_delta": InputJSONDelta.from_dict,
    "thinking_delta": ThinkingDelta.from_dict,
    "signature_delta": SignatureDelta.from_dict,
    "citations_delta": CitationsDelta.from_dict,
}


def delta_from_dict(d: Any) -> Delta:
    """The typed delta for a `delta` object; unknown types become `UnknownDelta`."""
    if type(d) is not dict:
        raise EventDecodeError("content_block_delta", "'delta' must be an object")
    delta_type = d.get("type")
    if type(delta_type) is not str:
        raise EventDecodeError("content_block_delta", "'delta.type' must be a string")
    parse = _DELTAS.get(delta_type)
    if parse is None:
        delta: Delta = UnknownDelta.from_dict(d)
        return delta
    return parse(d)


# --- events ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageStart:
    """`message_start`: the message shell (empty content, input-side usage)."""

    type: ClassVar[str] = "message_start"
    message: Message = field(default_factory=Message)
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    def to_dict(self) -> dict[str, Any]:
        core = {"type": "message_start", "message": self.message.to_dict()}
        return _out(core, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentBlockStart:
    """`content_block_start`: block `index` begins with `content_block` as its shell."""

    type: ClassVar[str] = "content_block_start"
    index: int = 0
    content_block: ContentBlock
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    def to_dict(self) -> dict[str, Any]:
        core = {
            "type": "content_block_start",
            "index": self.index,
            "content_block": self.content_block.to_dict(),
        }
        return _out(core, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentBlockDelta:
    """`content_block_delta`: `delta` applies to block `index`."""

    type: ClassVar[str] = "content_block_delta"
    index: int = 0
    delta: Delta
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    def to_dict(self) -> dict[str, Any]:
        core = {"type": "content_block_delta", "index": self.index, "delta": self.delta.to_dict()}
        return _out(core, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentBlockStop:
    """`content_block_stop`: block `index` is complete."""

    type: ClassVar[str] = "content_block_stop"
    index: int = 0
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return _out({"type": "content_block_stop", "index": self.index}, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageDelta:
    """`message_delta`: top-level changes (`delta`) and cumulative `usage` counts.

    Every key of `delta` is set on the message; every key of `usage` overwrites
    the message's usage; other top-level keys (e.g. `context_management`, in
    `extra`) are set on the message too.
    """

    type: ClassVar[str] = "message_delta"
    delta: Mapping[str, Any] = field(default_factory=dict)
    usage: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @property
    def stop_reason(self) -> str | None:
        value = self.delta.get("stop_reason")
        return value if type(value) is str else None

    @property
    def stop_sequence(self) -> str | None:
        value = self.delta.get("stop_sequence")
        return value if type(value) is str else None

    def to_dict(self) -> dict[str, Any]:
        core = {
            "type": "message_delta",
            "delta": copy_json(self.delta),
            "usage": copy_json(self.usage),
        }
        return _out(core, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageStop:
    """`message_stop`: the last event of a complete stream."""

    type: ClassVar[str] = "message_stop"
    extra: Mapping[str, Any] = field(default_factory=_no_extra)

    def to_dict(self) -> dict[str, Any]:
        return _out({"type": "message_stop"}, _NO_KEYS, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class Ping:
    """`ping`: a keep-alive; changes nothing."""

    type: ClassVar[str] = "ping"
    extra: Mapping[str, Any] = field(default_factory=_no_extra)

    def to_dict(self) -> dict[str, Any]:
        return _out({"type": "ping"}, _NO_KEYS, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamError:
    """`error`: the API's error envelope sent inside a 200 stream (e.g. `overloaded_error`)."""

    type: ClassVar[str] = "error"
    error: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @property
    def error_type(self) -> str | None:
        value = self.error.get("type")
        return value if type(value) is str else None

    @property
    def message(self) -> str:
        value = self.error.get("message")
        return value if type(value) is str else ""

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

    def to_dict(self) -> dict[str, Any]:
        return _out({"type": "error", "error": copy_json(self.error)}, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent:
    """An event whose JSON `type` wire does not know, carrying the raw object."""

    type: str
    data: Mapping[str, Any] = field(default_factory=dict)

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
# bypass); the objects are the same as the keyword-built ones.
_new = object.__new__
_set_text = TextDelta.__dict__["text"].__set__
_set_text_extra = TextDelta.__dict__["extra"].__set__
_set_text_omitted = TextDelta.__dict__["omitted"].__set__
_set_json = InputJSONDelta.__dict__["partial_json"].__set__
_set_json_extra = InputJSONDelta.__dict__["extra"].__set__
_set_json_omitted = InputJSONDelta.__dict__["omitted"].__set__
_set_index = ContentBlockDelta.__dict__["index"].__set__
_set_delta = ContentBlockDelta.__dict__["delta"].__set__
_set_cbd_extra = ContentBlockDelta.__dict__["extra"].__set__
_set_cbd_omitted = ContentBlockDelta.__dict__["omitted"].__set__


def _text_delta(text: str) -> TextDelta:
    delta: TextDelta = _new(TextDelta)
    _set_text(delta, text)
    _set_text_extra(delta, _NO_EXTRA)
    _set_text_omitted(delta, _NO_KEYS)
    return delta


def _input_json_delta(partial_json: str) -> InputJSONDelta:
    delta: InputJSONDelta = _new(InputJSONDelta)
    _set_json(delta, partial_json)
    _set_json_extra(delta, _NO_EXTRA)
    _set_json_omitted(delta, _NO_KEYS)
    return delta


def _content_block_delta(index: int, delta: Delta) -> ContentBlockDelta:
    event: ContentBlockDelta = _new(ContentBlockDelta)
    _set_index(event, index)
    _set_delta(event, delta)
    _set_cbd_extra(event, _NO_EXTRA)
    _set_cbd_omitted(event, _NO_KEYS)
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


def _message_start(d: dict[str, Any]) -> MessageStart:
    keys = ("type", "message")
    return MessageStart(
        message=Message.from_dict(_object(d, "message", "message_start")),
        extra=_split(d, keys),
        omitted=_missing(d, keys),
    )


def _block_start(d: dict[str, Any]) -> ContentBlockStart:
    keys = ("type", "index", "content_block")
    block = content_block_from_dict(_object(d, "content_block", "content_block_start"))
    return ContentBlockStart(
        index=_int(d, "index", "content_block_start"),
        content_block=block,
        extra=_split(d, keys),
        omitted=_missing(d, keys),
    )


def _block_delta(d: dict[str, Any]) -> ContentBlockDelta:
    if len(d) == 3:  # the common, exact shape: type, index, delta
        index = d.get("index")
        if type(index) is int and "delta" in d:
            return _content_block_delta(index, delta_from_dict(d["delta"]))
    keys = ("type", "index", "delta")
    return ContentBlockDelta(
        index=_int(d, "index", "content_block_delta"),
        delta=delta_from_dict(d.get("delta", {})),
        extra=_split(d, keys),
        omitted=_missing(d, keys),
    )


def _block_stop(d: dict[str, Any]) -> ContentBlockStop:
    keys = ("type", "index")
    return ContentBlockStop(
        index=_int(d, "index", "content_block_stop"),
        extra=_split(d, keys),
        omitted=_missing(d, keys),
    )


def _message_delta(d: dict[str, Any]) -> MessageDelta:
    keys = ("type", "delta", "usage")
    return MessageDelta(
        delta=_object(d, "delta", "message_delta"),
        usage=_object(d, "usage", "message_delta"),
        extra=_split(d, keys),
        omitted=_missing(d, keys),
    )


def _message_stop(d: dict[str, Any]) -> MessageStop:
    return MessageStop(extra=_split(d, ("type",)))


def _ping(d: dict[str, Any]) -> Ping:
    return Ping(extra=_split(d, ("type",)))


def _error(d: dict[str, Any]) -> StreamError:
    keys = ("type", "error")
    return StreamError(
        error=_object(d, "error", "error"), extra=_split(d, keys), omitted=_missing(d, keys)
    )


_EVENTS: dict[str, Callable[[dict[str, Any]], StreamEvent]] = {
    "message_start": _message_start,
    "content_block_start": _block_start,
    "content_block_delta": _block_delta,
    "content_block_stop": _block_stop,
    "message_delta": _message_delta,
    "message_stop": _message_stop,
    "ping": _ping,
    "error": _error,
}


def stream_event_from_dict(d: Any, *, name: str = "") -> StreamEvent:
    """The typed event for an event's JSON object (`name` only labels errors)."""
    if type(d) is not dict:
        raise EventDecodeError(name or "event", f"data is JSON {type(d).__name__}, not an object")
    event_type = d.get("type")
    parse = _EVENTS.get(event_type) if type(event_type) is str else None
    if parse is None:
        return UnknownEvent(type=event_type if type(event_type) is str else name, data=d)
    try:
        return parse(d)
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
