"""API objects: content blocks, `Usage`, `Message`.

Layer: core (stdlib only). Rule: `X.from_dict(d).to_dict() == d` for any JSON
object the API may send. Keys the API always sends are attributes; every other
key, known or not yet known, lives in the read-only `extra` mapping (some have
a typed property in front). A key the API did not send is never invented: an
always-sent key found missing is remembered in `omitted` and left out again.

Objects are frozen. Mapping values are dicts owned by the object: treat them as
read-only; `to_dict()` returns fresh copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, TypeAlias

from .errors import EventDecodeError

__all__ = [
    "ContentBlock",
    "MCPToolUseBlock",
    "Message",
    "RedactedThinkingBlock",
    "ServerToolUseBlock",
    "TextBlock",
    "ThinkingBlock",
    "ToolUseBlock",
    "UnknownBlock",
    "Usage",
    "content_block_from_dict",
    "copy_json",
]

JSON: TypeAlias = Any
_NO_KEYS: frozenset[str] = frozenset()
_NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


def _no_extra() -> Mapping[str, Any]:
    """The default `extra`: one shared, read-only, empty mapping."""
    return _NO_EXTRA


def copy_json(value: JSON) -> JSON:
    """A deep copy of a JSON value (dicts and lists copied, scalars shared).

    Iterative, so any depth `json.loads` accepted can be copied.
    """
    if type(value) is not dict and type(value) is not list:
        return value
    root = dict(value) if type(value) is dict else list(value)
    stack: list[Any] = [root]
    while stack:
        container = stack.pop()
        items = container.items() if type(container) is dict else enumerate(container)
        for key, item in items:
            if type(item) is dict or type(item) is list:
                copy = dict(item) if type(item) is dict else list(item)
                container[key] = copy
                stack.append(copy)
    return root


def _split(d: Mapping[str, Any], keys: tuple[str, ...]) -> Mapping[str, Any]:
    """The keys of `d` beyond `keys` (the shared empty mapping when there are none)."""
    extra = {k: v for k, v in d.items() if k not in keys}
    return extra if extra else _NO_EXTRA


def _fail(what: str, reason: str) -> EventDecodeError:
    return EventDecodeError(what, reason)


def _str(d: Mapping[str, Any], key: str, what: str, default: str = "") -> str:
    value = d.get(key, default)
    if type(value) is not str:
        raise _fail(what, f"{key!r} must be a string, not {type(value).__name__}")
    return value


def _opt_str(d: Mapping[str, Any], key: str, what: str) -> str | None:
    value = d.get(key)
    if value is not None and type(value) is not str:
        raise _fail(what, f"{key!r} must be a string or null, not {type(value).__name__}")
    return value


def _int(d: Mapping[str, Any], key: str, what: str) -> int:
    value = d.get(key, 0)
    if type(value) is not int:
        raise _fail(what, f"{key!r} must be an integer, not {type(value).__name__}")
    return value


def _object(d: Mapping[str, Any], key: str, what: str) -> dict[str, Any]:
    value = d.get(key, {})
    if type(value) is not dict:
        raise _fail(what, f"{key!r} must be an object, not {type(value).__name__}")
    return value


def _missing(d: Mapping[str, Any], keys: tuple[str, ...]) -> frozenset[str]:
    if all(k in d for k in keys):
        return _NO_KEYS
    return frozenset(k for k in keys if k not in d)


def _out(core: dict[str, Any], omitted: frozenset[str], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Assemble `to_dict()`: core keys minus omitted ones, then copies of extra."""
    if omitted:
        core = {k: v for k, v in core.items() if k not in omitted}
    for k, v in extra.items():
        core[k] = copy_json(v)
    return core


# --- content blocks --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TextBlock:
    """A `text` block. `citations` (when sent) lives in `extra`."""

    type: ClassVar[str] = "text"
    _keys: ClassVar[tuple[str, ...]] = ("type", "text")
    text: str = ""
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @property
    def citations(self) -> list[Any] | None:
        """The block's citations, or None when absent or null."""
        value = self.extra.get("citations")
        return value if type(value) is list else None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TextBlock:
        return cls(
            text=_str(d, "text", "text block"),
            extra=_split(d, cls._keys),
            omitted=_missing(d, cls._keys),
        )

    def to_dict(self) -> dict[str, Any]:
        return _out({"type": "text", "text": self.text}, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class ThinkingBlock:
    """A `thinking` block: the model's reasoning and its integrity signature."""

    type: ClassVar[str] = "thinking"
    _keys: ClassVar[tuple[str, ...]] = ("type", "thinking", "signature")
    thinking: str = ""
    signature: str = ""
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ThinkingBlock:
        return cls(
            thinking=_str(d, "thinking", "thinking block"),
            signature=_str(d, "signature", "thinking block"),
            extra=_split(d, cls._keys),
            omitted=_missing(d, cls._keys),
        )

    def to_dict(self) -> dict[str, Any]:
        core = {"type": "thinking", "thinking": self.thinking, "signature": self.signature}
        return _out(core, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class RedactedThinkingBlock:
    """A `redacted_thinking` block: opaque `data` to send back unchanged."""

    type: ClassVar[str] = "redacted_thinking"
    _keys: ClassVar[tuple[str, ...]] = ("type", "data")
    data: str = ""
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RedactedThinkingBlock:
        return cls(
            data=_str(d, "data", "redacted_thinking block"),
            extra=_split(d, cls._keys),
            omitted=_missing(d, cls._keys),
        )

    def to_dict(self) -> dict[str, Any]:
        return _out({"type": "redacted_thinking", "data": self.data}, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class _ToolCall:
    """Common shape of blocks whose `input` streams as `input_json_delta`."""

    type: ClassVar[str]
    _keys: ClassVar[tuple[str, ...]] = ("type", "id", "name", "input")
    id: str = ""
    name: str = ""
    input: dict[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Any:
        what = f"{cls.type} block"
        return cls(
            id=_str(d, "id", what),
            name=_str(d, "name", what),
            input=_object(d, "input", what),
            extra=_split(d, cls._keys),
            omitted=_missing(d, cls._keys),
        )

    def to_dict(self) -> dict[str, Any]:
        core = {"type": self.type, "id": self.id, "name": self.name, "input": copy_json(self.input)}
        return _out(core, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolUseBlock(_ToolCall):
    """A `tool_use` block: the model calls one of the caller's tools."""

    type: ClassVar[str] = "tool_use"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerToolUseBlock(_ToolCall):
    """A `server_tool_use` block: a tool the API runs itself (web search, code execution)."""

    type: ClassVar[str] = "server_tool_use"


@dataclass(frozen=True, slots=True, kw_only=True)
class MCPToolUseBlock(_ToolCall):
    """An `mcp_tool_use` block (beta): a call to a tool of an MCP server."""

    type: ClassVar[str] = "mcp_tool_use"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Unknown:
    """An object of a `type` wire does not know: the type and every other key, kept whole."""

    type: str
    extra: Mapping[str, Any] = field(default_factory=_no_extra)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Any:
        return cls(type=d["type"], extra=_split(d, ("type",)))

    def to_dict(self) -> dict[str, Any]:
        return _out({"type": self.type}, _NO_KEYS, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownBlock(_Unknown):
    """A block of a type wire does not know (or need not look into), kept whole."""


ContentBlock: TypeAlias = (
    TextBlock
    | ThinkingBlock
    | RedactedThinkingBlock
    | ToolUseBlock
    | ServerToolUseBlock
    | MCPToolUseBlock
    | UnknownBlock
)

_BLOCKS: dict[str, Any] = {
    cls.type: cls
    for cls in (
        TextBlock,
        ThinkingBlock,
        RedactedThinkingBlock,
        ToolUseBlock,
        ServerToolUseBlock,
        MCPToolUseBlock,
    )
}


def content_block_from_dict(d: Any) -> ContentBlock:
    """The typed block for a content block's JSON; unknown types become `UnknownBlock`."""
    if type(d) is not dict:
        raise _fail("content block", f"expected an object, not {type(d).__name__}")
    block_type = d.get("type")
    if type(block_type) is not str:
        raise _fail("content block", "'type' must be a string")
    cls = _BLOCKS.get(block_type, UnknownBlock)
    block: ContentBlock = cls.from_dict(d)
    return block


# --- usage and message -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """Token counts. Optional counts (cache, server tools, tier) live in `extra`."""

    _keys: ClassVar[tuple[str, ...]] = ("input_tokens", "output_tokens")
    input_tokens: int = 0
    output_tokens: int = 0
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @property
    def cache_creation_input_tokens(self) -> int | None:
        value = self.extra.get("cache_creation_input_tokens")
        return value if type(value) is int else None

    @property
    def cache_read_input_tokens(self) -> int | None:
        value = self.extra.get("cache_read_input_tokens")
        return value if type(value) is int else None

    @property
    def service_tier(self) -> str | None:
        value = self.extra.get("service_tier")
        return value if type(value) is str else None

    @classmethod
    def from_dict(cls, d: Any) -> Usage:
        if type(d) is not dict:
            raise _fail("usage", f"expected an object, not {type(d).__name__}")
        return cls(
            input_tokens=_int(d, "input_tokens", "usage"),
            output_tokens=_int(d, "output_tokens", "usage"),
            extra=_split(d, cls._keys),
            omitted=_missing(d, cls._keys),
        )

    def to_dict(self) -> dict[str, Any]:
        core = {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}
        return _out(core, self.omitted, self.extra)


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """A Messages API response (or a stream's snapshot of one).

    `stop_details`, `container`, `context_management` and any newer keys live
    in `extra`.
    """

    _keys: ClassVar[tuple[str, ...]] = (
        "id",
        "type",
        "role",
        "model",
        "content",
        "stop_reason",
        "stop_sequence",
        "usage",
    )
    id: str = ""
    type: str = "message"
    role: str = "assistant"
    model: str = ""
    content: tuple[ContentBlock, ...] = ()
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: Usage = field(default_factory=Usage)
    extra: Mapping[str, Any] = field(default_factory=_no_extra)
    omitted: frozenset[str] = field(default=_NO_KEYS, repr=False)

    @property
    def text(self) -> str:
        """The text of all text blocks, joined."""
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    @classmethod
    def from_dict(cls, d: Any) -> Message:
        if type(d) is not dict:
            raise _fail("message", f"expected an object, not {type(d).__name__}")
        content = d.get("content", [])
        if type(content) is not list:
            raise _fail("message", "'content' must be a list")
        return cls(
            id=_str(d, "id", "message"),
            type=_str(d, "type", "message", "message"),
            role=_str(d, "role", "message", "assistant"),
            model=_str(d, "model", "message"),
            content=tuple(content_block_from_dict(b) for b in content),
            stop_reason=_opt_str(d, "stop_reason", "message"),
            stop_sequence=_opt_str(d, "stop_sequence", "message"),
            usage=Usage.from_dict(d["usage"]) if "usage" in d else Usage(),
            extra=_split(d, cls._keys),
            omitted=_missing(d, cls._keys),
        )

    def to_dict(self) -> dict[str, Any]:
        core = {
            "id": self.id,
            "type": self.type,
            "role": self.role,
            "model": self.model,
            "content": [b.to_dict() for b in self.content],
            "stop_reason": self.stop_reason,
            "stop_sequence": self.stop_sequence,
            "usage": self.usage.to_dict(),
        }
        return _out(core, self.omitted, self.extra)
