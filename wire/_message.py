"""API objects: content blocks, `Usage`, `Message`.

Layer: core (stdlib only), on `_model`. Rule: `X.from_dict(d).to_dict() == d`
for any JSON object the API may send. Keys the API always sends are declared
fields; every other key, known or not yet known, lives in the read-only `extra`
mapping (some have a typed property in front). A key the API did not send is
never invented: an always-sent key found missing is remembered in `omitted` and
left out again. `_model.APIObject` derives all of that from the fields.

Objects are frozen. Mapping values are dicts owned by the object: treat them as
read-only; `to_dict()` returns fresh copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

from ._errors import EventDecodeError
from ._model import (
    APIObject,
    Unknown,
    copy_json,
    integer,
    json_object,
    list_of,
    nested,
    optional_string,
    string,
    typed,
)

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


# --- content blocks --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TextBlock(APIObject):
    """A `text` block. `citations` (when sent) lives in `extra`."""

    type: ClassVar[str] = "text"
    what: ClassVar[str] = "text block"
    text: str = string()

    @property
    def citations(self) -> list[Any] | None:
        """The block's citations, or None when absent or null."""
        return typed(self.extra, "citations", list)


@dataclass(frozen=True, slots=True, kw_only=True)
class ThinkingBlock(APIObject):
    """A `thinking` block: the model's reasoning and its integrity signature."""

    type: ClassVar[str] = "thinking"
    what: ClassVar[str] = "thinking block"
    thinking: str = string()
    signature: str = string()


@dataclass(frozen=True, slots=True, kw_only=True)
class RedactedThinkingBlock(APIObject):
    """A `redacted_thinking` block: opaque `data` to send back unchanged."""

    type: ClassVar[str] = "redacted_thinking"
    what: ClassVar[str] = "redacted_thinking block"
    data: str = string()


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallBlock(APIObject):
    """Common shape of blocks whose `input` streams as `input_json_delta`."""

    type: ClassVar[str]
    id: str = string()
    name: str = string()
    input: dict[str, Any] = json_object()


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolUseBlock(ToolCallBlock):
    """A `tool_use` block: the model calls one of the caller's tools."""

    type: ClassVar[str] = "tool_use"
    what: ClassVar[str] = "tool_use block"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerToolUseBlock(ToolCallBlock):
    """A `server_tool_use` block: a tool the API runs itself (web search, code execution)."""

    type: ClassVar[str] = "server_tool_use"
    what: ClassVar[str] = "server_tool_use block"


@dataclass(frozen=True, slots=True, kw_only=True)
class MCPToolUseBlock(ToolCallBlock):
    """An `mcp_tool_use` block (beta): a call to a tool of an MCP server."""

    type: ClassVar[str] = "mcp_tool_use"
    what: ClassVar[str] = "mcp_tool_use block"


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownBlock(Unknown):
    """A block of a type wire does not know (or need not look into), kept whole."""

    what: ClassVar[str] = "content block"


ContentBlock: TypeAlias = (
    TextBlock
    | ThinkingBlock
    | RedactedThinkingBlock
    | ToolUseBlock
    | ServerToolUseBlock
    | MCPToolUseBlock
    | UnknownBlock
)

_BLOCKS: dict[str, type[ContentBlock]] = {
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
        raise EventDecodeError("content block", f"expected an object, not {type(d).__name__}")
    block_type = d.get("type")
    if type(block_type) is not str:
        raise EventDecodeError("content block", "'type' must be a string")
    return _BLOCKS.get(block_type, UnknownBlock).from_dict(d)


# --- usage and message -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage(APIObject):
    """Token counts. Optional counts (cache, server tools, tier) live in `extra`."""

    what: ClassVar[str] = "usage"
    # The always-sent counts (the accumulator keeps them integers).
    COUNTS: ClassVar[tuple[str, ...]] = ("input_tokens", "output_tokens")
    input_tokens: int = integer()
    output_tokens: int = integer()

    @property
    def cache_creation_input_tokens(self) -> int | None:
        return typed(self.extra, "cache_creation_input_tokens", int)

    @property
    def cache_read_input_tokens(self) -> int | None:
        return typed(self.extra, "cache_read_input_tokens", int)

    @property
    def service_tier(self) -> str | None:
        return typed(self.extra, "service_tier", str)


@dataclass(frozen=True, slots=True, kw_only=True)
class Message(APIObject):
    """A Messages API response (or a stream's snapshot of one).

    `stop_details`, `container`, `context_management` and any newer keys live
    in `extra`.
    """

    what: ClassVar[str] = "message"
    id: str = string()
    type: str = string("message")
    role: str = string("assistant")
    model: str = string()
    content: tuple[ContentBlock, ...] = list_of(content_block_from_dict)
    stop_reason: str | None = optional_string()
    stop_sequence: str | None = optional_string()
    usage: Usage = nested(Usage)

    @property
    def text(self) -> str:
        """The text of all text blocks, joined."""
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))
