"""`MessageAccumulator`: typed stream events -> the `Message` they describe.

Layer: core, above `_events` and `_partial_json`. Rule: work per event is
proportional to the event, and so is work per read of `message`: a read
rebuilds only the blocks that changed since the last read and shares every
other block (and, when nothing changed, returns the same `Message`). What a
read must still copy is what changed value: the changed block's text (a new
`str`), its open tool-input containers, and the `content` tuple (one pointer
per block). Snapshots handed out are never changed afterwards.

`max_message_bytes` bounds what a stream can make the message hold: every
event that adds to it is counted (UTF-8 bytes of text, thinking, signatures
and tool-input fragments; compact JSON of blocks, citations, the
`message_start` message and `message_delta` events) and the event that would
pass the limit raises `MessageTooLargeError` without being applied.

Policy for streams that break the grammar (none of them crash):
- events before `message_start` are ignored (the message is still None); a
  second `message_start` and every event after `message_stop` are ignored;
- a delta for a block that does not exist, or of a kind its block cannot take,
  is ignored, and so is an `UnknownDelta`;
- a `content_block_start` for an index already in use replaces that block;
- a tool input that is not one complete JSON object at `content_block_stop`
  raises `InvalidToolInputError` (the block keeps its best parse).
"""

from __future__ import annotations

import json
from bisect import bisect_left
from typing import Any, NoReturn

from ._errors import (
    EventDecodeError,
    InvalidParameterError,
    InvalidToolInputError,
    MessageTooLargeError,
)
from ._events import (
    CitationsDelta,
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    Delta,
    InputJSONDelta,
    MessageDelta,
    MessageStart,
    MessageStop,
    SignatureDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
)
from ._message import (
    ContentBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    Usage,
)
from ._partial_json import PartialJSONParser

__all__ = ["DEFAULT_MAX_MESSAGE_BYTES", "MessageAccumulator"]

# The longest replies are a few MiB (128k output tokens of text or thinking are
# ~0.5 MiB; server tool results with fetched pages a few MiB more). 32 MiB is
# far above any of them and well under the 64 MiB no hostile peer may make a
# client hold; the Python objects behind it cost a small multiple of it.
DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024

# Text deltas are kept as pieces until read; every `_CHUNK` pieces are joined,
# so a stream of tiny deltas that is never read holds ~1 byte per character.
_CHUNK = 256

_IGNORED = -1  # what `_Block.apply` returns for a delta its block does not take


def _utf8_size(text: str) -> int:
    """The UTF-8 length of `text` (lone surrogates, which JSON allows, count 3 bytes)."""
    if text.isascii():  # O(1) in CPython: the common case costs nothing
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_TEXT_SHELL = len('{"type":"text","text":""}')
_THINKING_SHELL = len('{"type":"thinking","thinking":"","signature":""}')
_TOOL_SHELL = len('{"type":"","id":"","name":"","input":{}}')


def _json_size(value: Any) -> int:
    """The size of `value` as compact JSON, in UTF-8 bytes."""
    try:
        text = _ENCODER.encode(value)
    except RecursionError:  # nested deeper than the encoder recurses: walk it instead
        return _walk_size(value)
    return _utf8_size(text)


def _walk_size(value: Any) -> int:
    """`_json_size` without recursion, counting strings and 2 bytes per container and key."""
    size = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            size += 2
            for key, child in item.items():
                size += _utf8_size(str(key)) + 3
                stack.append(child)
        elif type(item) is list:
            size += 2
            stack.extend(item)
        elif type(item) is str:
            size += _utf8_size(item) + 2
        else:
            size += len(repr(item))
    return size


def _block_size(block: ContentBlock) -> int:
    """`_json_size(block.to_dict())`, computed directly for the usual empty shells."""
    if not block.extra:
        if type(block) is TextBlock:
            return _TEXT_SHELL + _utf8_size(block.text)
        if type(block) is ThinkingBlock:
            return _THINKING_SHELL + _utf8_size(block.thinking) + _utf8_size(block.signature)
        if isinstance(block, ToolCallBlock) and not block.input:
            return _TOOL_SHELL + len(block.type) + _utf8_size(block.id) + _utf8_size(block.name)
    return _json_size(block.to_dict())


class _Block:
    """One content block under construction: a block whose deltas it ignores (the base class)."""

    __slots__ = ("base", "built", "stopped")

    def __init__(self, base: ContentBlock) -> None:
        self.base = base
        self.built: ContentBlock = base  # the block as last built
        self.stopped = False

    def apply(self, delta: Delta, room: int) -> int:
        """Apply `delta` if it fits in `room` bytes; return its size, or `_IGNORED`.

        A size over `room` is returned without applying anything (the caller raises).
        """
        return _IGNORED

    def build(self) -> ContentBlock:
        """The block now: `built` again unless something changed since the last build."""
        return self.built

    def finish(self, index: int) -> None:
        """`content_block_stop`: raise if the block is not complete."""


class _TextLike(_Block):
    """A text or thinking block: pieces appended since the last build, joined when read."""

    __slots__ = ("chunks", "grew", "pieces", "text")

    def __init__(self, base: ContentBlock, text: str) -> None:
        super().__init__(base)
        self.text = text  # the text as of the last build
        self.chunks: list[str] = []  # joined runs of `_CHUNK` pieces since the last build
        self.pieces: list[str] = []  # pieces since the last build (or the last chunk)
        self.grew = False  # a delta (even an empty one) arrived since the last build

    def append(self, piece: str, room: int) -> int:
        size = len(piece) if piece.isascii() else _utf8_size(piece)
        if size <= room:
            self.grew = True
            if piece:
                pieces = self.pieces
                pieces.append(piece)
                if len(pieces) >= _CHUNK:
                    self.chunks.append("".join(pieces))
                    pieces.clear()
        return size

    def take_text(self) -> bool:
        """Bring `text` up to date; True if a delta arrived since the last build."""
        if not self.grew:
            return False
        self.grew = False
        if self.pieces or self.chunks:
            self.chunks.append("".join(self.pieces))
            self.pieces.clear()
            self.text += "".join(self.chunks)
            self.chunks.clear()
        return True


class _Text(_TextLike):
    __slots__ = ("citations", "new_citations")

    def __init__(self, base: TextBlock) -> None:
        super().__init__(base, base.text)
        existing = base.extra.get("citations")
        self.citations: list[Any] = list(existing) if type(existing) is list else []
        self.new_citations = False

    def apply(self, delta: Delta, room: int) -> int:
        if type(delta) is TextDelta:
            return self.append(delta.text, room)
        if type(delta) is CitationsDelta:
            size = _json_size(delta.citation)
            if size <= room:
                self.citations.append(delta.citation)
                self.new_citations = True
            return size
        return _IGNORED

    def build(self) -> ContentBlock:
        if not self.take_text() and not self.new_citations:
            return self.built
        last = self.built
        assert isinstance(last, TextBlock)
        extra = last.extra
        if self.new_citations:  # a fresh list: the one handed out before never changes
            extra = {**extra, "citations": list(self.citations)}
            self.new_citations = False
        self.built = TextBlock(text=self.text, extra=extra, omitted=last.omitted - {"text"})
        return self.built


class _Thinking(_TextLike):
    __slots__ = ("signature",)

    def __init__(self, base: ThinkingBlock) -> None:
        super().__init__(base, base.thinking)
        self.signature: str | None = None  # a signature that arrived since the last build

    def apply(self, delta: Delta, room: int) -> int:
        if type(delta) is ThinkingDelta:
            return self.append(delta.thinking, room)
        if type(delta) is SignatureDelta:
            size = _utf8_size(delta.signature)
            if size <= room:
                self.signature = delta.signature
            return size
        return _IGNORED

    def build(self) -> ContentBlock:
        grew = self.take_text()
        signature = self.signature
        if not grew and signature is None:
            return self.built
        last = self.built
        assert isinstance(last, ThinkingBlock)
        omitted = last.omitted
        if grew:
            omitted -= {"thinking"}
        if signature is not None:
            omitted -= {"signature"}
            self.signature = None
        self.built = ThinkingBlock(
            thinking=self.text,
            signature=last.signature if signature is None else signature,
            extra=last.extra,
            omitted=omitted,
        )
        return self.built


class _Tool(_Block):
    """A tool-call block: `input_json_delta` fragments go to a `PartialJSONParser`."""

    __slots__ = ("parser",)

    def __init__(self, base: ContentBlock) -> None:
        super().__init__(base)
        self.parser = PartialJSONParser()

    def apply(self, delta: Delta, room: int) -> int:
        if type(delta) is not InputJSONDelta:
            return _IGNORED
        fragment = delta.partial_json
        size = len(fragment) if fragment.isascii() else _utf8_size(fragment)
        if size <= room:
            self.parser.feed(fragment)
        return size

    def build(self) -> ContentBlock:
        parser = self.parser
        if not parser.started:
            return self.built
        parsed = parser.result() if parser.complete else parser.snapshot()
        last = self.built
        assert isinstance(last, ToolCallBlock)
        if parsed is last.input:
            return last  # the parse shows nothing new (e.g. a string still open)
        base = self.base
        assert isinstance(base, ToolCallBlock)
        self.built = type(base)(
            id=base.id,
            name=base.name,
            input=parsed,
            extra=base.extra,
            omitted=base.omitted - {"input"},
        )
        return self.built

    def finish(self, index: int) -> None:
        parser = self.parser
        if parser.started and not parser.complete:
            reason = parser.error or "the input ended before the object closed"
            raise InvalidToolInputError(index, reason)


def _new_block(base: ContentBlock) -> _Block:
    if isinstance(base, TextBlock):
        return _Text(base)
    if isinstance(base, ThinkingBlock):
        return _Thinking(base)
    if isinstance(base, ToolCallBlock):
        return _Tool(base)
    return _Block(base)


class MessageAccumulator:
    """Feed typed stream events; `message` is the `Message` so far (None before `message_start`).

    `max_message_bytes` (default `DEFAULT_MAX_MESSAGE_BYTES`, 32 MiB) bounds
    what the message may take in; see the module docstring for what counts.
    """

    def __init__(self, *, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        if type(max_message_bytes) is not int or max_message_bytes < 1:
            raise InvalidParameterError("max_message_bytes", "must be an integer of at least 1")
        self.max_message_bytes = max_message_bytes
        self._room = max_message_bytes  # bytes left before the limit
        self._start: Message | None = None
        self._blocks: dict[int, _Block] = {}
        self._order: list[int] = []  # block indexes, ascending
        self._content: list[ContentBlock] = []  # built blocks, in `_order`
        self._dirty: dict[int, _Block] = {}  # blocks changed since the last read
        self._content_changed = True  # a block was added or replaced since the last read
        self._stop_reason: str | None = None
        self._stop_sequence: str | None = None
        self._usage_dict: dict[str, Any] = {}
        self._usage = Usage()
        self._extra: dict[str, Any] = {}
        self._omitted: frozenset[str] = frozenset()
        self._fields_changed = True  # a message-level field changed since the last read
        self._snapshot: Message | None = None  # the current message, while nothing changed
        self._last: Message | None = None  # the message the last read built
        self.stopped = False
        """True once `message_stop` arrived."""
        self.error: StreamError | None = None
        """The `error` event, if the stream carried one."""

    @property
    def started(self) -> bool:
        """True once `message_start` arrived."""
        return self._start is not None

    @property
    def counted_bytes(self) -> int:
        """Bytes counted against `max_message_bytes` so far."""
        return self.max_message_bytes - self._room

    @property
    def message(self) -> Message | None:
        """The message so far; the final message once `message_stop` arrived.

        Reading it after every event costs time proportional to what changed
        (plus one pointer per block for the `content` tuple); the same object
        comes back while nothing changed. Messages handed out never change.
        """
        if self._snapshot is None and self._start is not None:
            self._snapshot = self._build()
        return self._snapshot

    def feed(self, event: StreamEvent) -> None:
        """Apply one event; raises `MessageTooLargeError` (not applying it) past the limit."""
        if self.stopped:
            return
        if isinstance(event, ContentBlockDelta):
            self._delta(event)
        elif isinstance(event, MessageStart):
            if self._start is None:
                self._begin(event.message)
        elif self._start is None:
            if isinstance(event, StreamError):
                self.error = event
        elif isinstance(event, ContentBlockStart):
            self._count(_block_size(event.content_block))
            self._add_block(event.index, event.content_block)
        elif isinstance(event, ContentBlockStop):
            self._block_stop(event.index)
        elif isinstance(event, MessageDelta):
            self._message_delta(event)
        elif isinstance(event, MessageStop):
            self.stopped = True
        elif isinstance(event, StreamError):
            self.error = event

    # -- internals ----------------------------------------------------------------

    def _count(self, size: int) -> None:
        """Count `size` more bytes, or raise `MessageTooLargeError` (counting nothing)."""
        if size > self._room:
            self._breach(size)
        self._room -= size

    def _breach(self, size: int) -> NoReturn:
        total = self.counted_bytes + size
        raise MessageTooLargeError("max_message_bytes", self.max_message_bytes, total)

    def _begin(self, message: Message) -> None:
        self._count(_json_size(message.to_dict()))
        self._start = message
        for i, block in enumerate(message.content):
            self._add_block(i, block)
        self._stop_reason = message.stop_reason
        self._stop_sequence = message.stop_sequence
        self._usage = message.usage
        self._usage_dict = message.usage.to_dict()
        self._extra = dict(message.extra)
        self._omitted = message.omitted
        self._fields_changed = True
        self._snapshot = None

    def _add_block(self, index: int, base: ContentBlock) -> None:
        block = _new_block(base)
        order = self._order
        if not order or index > order[-1]:
            order.append(index)
            self._content.append(base)
        else:
            position = bisect_left(order, index)
            if order[position] == index:  # a second start for this index replaces the block
                self._content[position] = base
            else:
                order.insert(position, index)
                self._content.insert(position, base)
        self._blocks[index] = block
        self._dirty.pop(index, None)
        self._content_changed = True
        self._snapshot = None

    def _delta(self, event: ContentBlockDelta) -> None:
        index = event.index
        block = self._blocks.get(index)  # none before message_start
        if block is None or block.stopped:
            return
        room = self._room
        size = block.apply(event.delta, room)
        if size > room:
            self._breach(size)
        if size == _IGNORED:
            return  # a delta this block cannot take, or an UnknownDelta
        self._room = room - size
        self._dirty[index] = block
        self._snapshot = None

    def _block_stop(self, index: int) -> None:
        block = self._blocks.get(index)
        if block is None or block.stopped:
            return
        block.stopped = True
        block.finish(index)

    def _message_delta(self, event: MessageDelta) -> None:
        self._count(_json_size(event.to_dict()))
        for key, value in event.delta.items():
            if key == "stop_reason" or key == "stop_sequence":
                if value is not None and type(value) is not str:
                    raise EventDecodeError(
                        "message_delta", f"'delta.{key}' must be a string or null"
                    )
                if key == "stop_reason":
                    self._stop_reason = value
                else:
                    self._stop_sequence = value
                self._omitted -= {key}
            else:
                self._extra[key] = value
        if event.usage:
            # A null count is no count: the message keeps the one it had (the
            # always-sent counts must stay integers).
            usage = {
                **self._usage_dict,
                **{k: v for k, v in event.usage.items() if v is not None or k not in Usage.COUNTS},
            }
            self._usage = Usage.from_dict(usage)  # validates the counts before anything changes
            self._usage_dict = usage
            self._omitted -= {"usage"}
        for key, value in event.extra.items():
            self._extra[key] = value
        self._fields_changed = True
        self._snapshot = None

    def _content_tuple(self, last: Message | None) -> tuple[ContentBlock, ...]:
        """The content now, rebuilding only the blocks that changed since the last read."""
        changed = self._content_changed
        if self._dirty:
            order, content = self._order, self._content
            for index, block in self._dirty.items():
                built = block.build()
                position = bisect_left(order, index)
                if content[position] is not built:
                    content[position] = built
                    changed = True
            self._dirty.clear()
        self._content_changed = False
        if not changed and last is not None:
            return last.content
        return tuple(self._content)

    def _build(self) -> Message:
        start = self._start
        assert start is not None
        last = self._last
        content = self._content_tuple(last)
        if last is not None and not self._fields_changed and content is last.content:
            return last  # e.g. a tool-input fragment inside a string: nothing shows yet
        extra = dict(self._extra) if self._fields_changed or last is None else last.extra
        self._fields_changed = False
        message = Message(
            id=start.id,
            type=start.type,
            role=start.role,
            model=start.model,
            content=content,
            stop_reason=self._stop_reason,
            stop_sequence=self._stop_sequence,
            usage=self._usage,
            extra=extra,
            omitted=self._omitted,
        )
        self._last = message
        return message
