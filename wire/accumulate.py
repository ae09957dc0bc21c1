"""`MessageAccumulator`: typed stream events -> the `Message` they describe.

Layer: core, above `events` and `partial_json`. Rule: work per event is
proportional to the event; the snapshot is built lazily (only when read, and
only the blocks that changed since the last read), so accumulating a stream
costs time linear in its length.

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

from typing import Any

from .errors import EventDecodeError, InvalidToolInputError
from .events import (
    CitationsDelta,
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
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
from .partial_json import PartialJSONParser
from .types import (
    ContentBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    Usage,
    _ToolCall,
)

__all__ = ["MessageAccumulator"]


class _Block:
    """One content block under construction."""

    __slots__ = ("base", "citations", "parser", "pieces", "signature", "stopped")

    def __init__(self, base: ContentBlock) -> None:
        self.base = base
        self.pieces: list[str] | None = None  # appended text / thinking
        self.signature: str | None = None
        self.citations: list[Any] | None = None
        self.parser: PartialJSONParser | None = None
        self.stopped = False

    def build(self) -> ContentBlock:
        base = self.base
        if isinstance(base, TextBlock):
            if self.pieces is None and self.citations is None:
                return base
            text = base.text if self.pieces is None else base.text + "".join(self.pieces)
            extra = base.extra
            if self.citations is not None:
                existing = extra.get("citations")
                old = existing if type(existing) is list else []
                extra = {**extra, "citations": old + self.citations}
            return TextBlock(text=text, extra=extra, omitted=base.omitted - {"text"})
        if isinstance(base, ThinkingBlock):
            if self.pieces is None and self.signature is None:
                return base
            thinking = base.thinking
            if self.pieces is not None:
                thinking += "".join(self.pieces)
            signature = base.signature if self.signature is None else self.signature
            omitted = base.omitted
            if self.pieces is not None:
                omitted -= {"thinking"}
            if self.signature is not None:
                omitted -= {"signature"}
            return ThinkingBlock(
                thinking=thinking, signature=signature, extra=base.extra, omitted=omitted
            )
        if isinstance(base, _ToolCall) and self.parser is not None and self.parser.started:
            parsed = self.parser.result() if self.parser.complete else self.parser.snapshot()
            return type(base)(
                id=base.id,
                name=base.name,
                input=parsed,
                extra=base.extra,
                omitted=base.omitted - {"input"},
            )
        return base


class MessageAccumulator:
    """Feed typed stream events; `message` is the `Message` so far (None before `message_start`)."""

    def __init__(self) -> None:
        self._start: Message | None = None
        self._blocks: dict[int, _Block] = {}
        self._built: dict[int, ContentBlock] = {}  # blocks unchanged since the last snapshot
        self._stop_reason: str | None = None
        self._stop_sequence: str | None = None
        self._usage: dict[str, Any] = {}
        self._extra: dict[str, Any] = {}
        self._omitted: frozenset[str] = frozenset()
        self._snapshot: Message | None = None
        self.stopped = False
        """True once `message_stop` arrived."""
        self.error: StreamError | None = None
        """The `error` event, if the stream carried one."""

    @property
    def started(self) -> bool:
        """True once `message_start` arrived."""
        return self._start is not None

    @property
    def message(self) -> Message | None:
        """The message so far; the final message once `message_stop` arrived."""
        if self._snapshot is None and self._start is not None:
            self._snapshot = self._build()
        return self._snapshot

    def feed(self, event: StreamEvent) -> None:
        """Apply one event."""
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
            return
        elif isinstance(event, ContentBlockStart):
            self._blocks[event.index] = _Block(event.content_block)
            self._changed(event.index)
        elif isinstance(event, ContentBlockStop):
            self._block_stop(event.index)
        elif isinstance(event, MessageDelta):
            self._message_delta(event)
        elif isinstance(event, MessageStop):
            self.stopped = True
        elif isinstance(event, StreamError):
            self.error = event

    # -- internals ----------------------------------------------------------------

    def _changed(self, index: int) -> None:
        self._built.pop(index, None)
        self._snapshot = None

    def _begin(self, message: Message) -> None:
        self._start = message
        for i, block in enumerate(message.content):
            self._blocks[i] = _Block(block)
        self._stop_reason = message.stop_reason
        self._stop_sequence = message.stop_sequence
        self._usage = message.usage.to_dict()
        self._extra = dict(message.extra)
        self._omitted = message.omitted
        self._snapshot = None

    def _delta(self, event: ContentBlockDelta) -> None:
        if self._start is None:
            return
        block = self._blocks.get(event.index)
        if block is None or block.stopped:
            return
        delta = event.delta
        base = block.base
        if isinstance(delta, TextDelta):
            if not isinstance(base, TextBlock):
                return
            if block.pieces is None:
                block.pieces = [delta.text]
            else:
                block.pieces.append(delta.text)
        elif isinstance(delta, InputJSONDelta):
            if not isinstance(base, _ToolCall):
                return
            if block.parser is None:
                block.parser = PartialJSONParser()
            block.parser.feed(delta.partial_json)
        elif isinstance(delta, ThinkingDelta):
            if not isinstance(base, ThinkingBlock):
                return
            if block.pieces is None:
                block.pieces = [delta.thinking]
            else:
                block.pieces.append(delta.thinking)
        elif isinstance(delta, SignatureDelta):
            if not isinstance(base, ThinkingBlock):
                return
            block.signature = delta.signature
        elif isinstance(delta, CitationsDelta):
            if not isinstance(base, TextBlock):
                return
            if block.citations is None:
                block.citations = [delta.citation]
            else:
                block.citations.append(delta.citation)
        else:
            return  # UnknownDelta: the block stays as it is
        self._built.pop(event.index, None)
        self._snapshot = None

    def _block_stop(self, index: int) -> None:
        block = self._blocks.get(index)
        if block is None or block.stopped:
            return
        block.stopped = True
        parser = block.parser
        if parser is not None and parser.started and not parser.complete:
            reason = parser.error or "the input ended before the object closed"
            raise InvalidToolInputError(index, reason)
        self._changed(index)

    def _message_delta(self, event: MessageDelta) -> None:
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
                **self._usage,
                **{k: v for k, v in event.usage.items() if v is not None or k not in Usage._keys},
            }
            Usage.from_dict(usage)  # validates the counts' types before anything changes
            self._usage = usage
            self._omitted -= {"usage"}
        for key, value in event.extra.items():
            self._extra[key] = value
        self._snapshot = None

    def _build(self) -> Message:
        start = self._start
        assert start is not None
        built = self._built
        blocks = self._blocks
        content: list[ContentBlock] = []
        for index in sorted(blocks) if _out_of_order(blocks) else blocks:
            block = built.get(index)
            if block is None:
                block = built[index] = blocks[index].build()
            content.append(block)
        return Message(
            id=start.id,
            type=start.type,
            role=start.role,
            model=start.model,
            content=tuple(content),
            stop_reason=self._stop_reason,
            stop_sequence=self._stop_sequence,
            usage=Usage.from_dict(self._usage),
            extra=dict(self._extra),
            omitted=self._omitted,
        )


def _out_of_order(blocks: dict[int, _Block]) -> bool:
    return any(index != expected for expected, index in enumerate(blocks))
