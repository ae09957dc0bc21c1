"""Hypothesis strategies for fuzzing SSE and Messages stream consumers.

Needs `hypothesis` (a test dependency, never a runtime one). Everything here
shrinks towards fewer events, fewer chunks and ASCII text:

- `chunkings(data)`: ways to cut a byte string into chunks (one chunk first).
- `sse_streams()`: event-stream bytes exercising every WHATWG rule (line
  endings, comments, BOM, ids, retry, multi-line data); `hostile=True` adds
  invalid UTF-8, NUL in ids, bad retry values, unknown fields, a cut-off tail.
- `messages()`: final `Message` JSON objects (text, thinking, redacted thinking,
  tool use with nested input, server tool use, an unknown block, citations).
- `stream_event_sequences()`: `(events, message)` pairs: the event objects a
  streaming response for `message` would carry (valid by construction), with
  pings, empty fragments and text cut anywhere, and the message they build.
- `encode_events(events)`: those events as SSE bytes, as the API frames them.
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

from hypothesis import strategies as st

from wire._sse import encode_sse

__all__ = [
    "chunkings",
    "encode_events",
    "json_objects",
    "messages",
    "sse_streams",
    "stream_event_sequences",
]

JSONDict = dict[str, Any]


def _check_bounds(name: str, low: int, high: int) -> None:
    if low < 0 or high < low:
        raise ValueError(f"{name}: need 0 <= min <= max, got {low}..{high}")


@st.composite
def _cut(draw: st.DrawFn, data: Any, max_pieces: int) -> list[Any]:
    """Cut a sequence (bytes or str) into contiguous pieces; the first draw keeps it whole."""
    n = len(data)
    if n <= 1 or max_pieces <= 1:
        return [data]
    mode = draw(st.integers(0, 3))
    if mode == 0:
        return [data]
    if mode == 1:  # every cut point, one unit a piece (1-byte chunks)
        if n <= max_pieces:
            return [data[i : i + 1] for i in range(n)]
    if mode == 2:  # fixed size
        size = draw(st.integers(1, max(1, n - 1)))
        if -(-n // size) <= max_pieces:
            return [data[i : i + size] for i in range(0, n, size)]
    cuts = draw(st.lists(st.integers(1, n - 1), max_size=max_pieces - 1, unique=True))
    points = [0, *sorted(cuts), n]
    return [data[a:b] for a, b in pairwise(points)]


def chunkings(data: bytes, *, max_chunks: int = 10_000) -> st.SearchStrategy[list[bytes]]:
    """Lists of non-empty chunks whose concatenation is `data` (whole, 1-byte, fixed, random)."""
    _check_bounds("max_chunks", 1, max_chunks)
    return _cut(data, max_chunks)


# --- SSE text ----------------------------------------------------------------------------

_NICE_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=30)
_FIELD_VALUE = st.one_of(st.text(alphabet="ab :é東🌤", max_size=8), _NICE_TEXT)
_EOL = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def _sse_line(draw: st.DrawFn, hostile: bool) -> str:
    kind = draw(
        st.sampled_from(
            ["data", "data", "data", "event", "id", "retry", "comment", "blank", "blank", "other"]
        )
    )
    value = draw(_FIELD_VALUE)
    if kind == "blank":
        return ""
    if kind == "comment":
        return ":" + value
    if kind == "retry":
        if hostile:
            value = draw(
                st.sampled_from(["12", "0", "007", "+5", "1_0", " 5", "5 ", "x", "", "\u0661"])
            )
        else:
            value = str(draw(st.integers(0, 10**6)))
    if kind == "id" and hostile and draw(st.booleans()):
        value += "\0"
    if kind == "other":
        kind = draw(st.sampled_from(["Data", "dat", "ping", "data ", "event2"]))
    sep = draw(st.sampled_from([": ", ":", ":  "]))
    if draw(st.integers(0, 9)) == 0:
        return kind  # a field with no colon: empty value
    return f"{kind}{sep}{value}"


@st.composite
def _sse_stream(draw: st.DrawFn, min_lines: int, max_lines: int, hostile: bool) -> bytes:
    lines = draw(st.lists(_sse_line(hostile), min_size=min_lines, max_size=max_lines))
    parts: list[str] = []
    if draw(st.integers(0, 7)) == 0:
        parts.append("\ufeff")
    for line in lines:
        parts.append(line)
        parts.append(draw(_EOL))
    data = "".join(parts).encode("utf-8")
    if hostile:
        junk = draw(
            st.sampled_from(
                [
                    b"",
                    b"",
                    b"\xff",
                    b"\xe2\x82",
                    b"\xc3",
                    b"\xf0\x9f\x8c",
                    b"\x80\x80",
                    b"\xef\xbb\xbf",
                ]
            )
        )
        at = draw(st.integers(0, len(data)))
        data = data[:at] + junk + data[at:]
        if draw(st.booleans()):
            data += draw(st.binary(max_size=12))  # a cut-off tail, maybe without a line end
    return data


def sse_streams(
    *, min_lines: int = 0, max_lines: int = 40, hostile: bool = False
) -> st.SearchStrategy[bytes]:
    """Event-stream bytes covering every WHATWG rule; `hostile` adds malformed input."""
    _check_bounds("lines", min_lines, max_lines)
    return _sse_stream(min_lines, max_lines, hostile)


# --- Messages API objects -------------------------------------------------------------

_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
_KEY = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)


def json_objects(*, max_leaves: int = 20) -> st.SearchStrategy[JSONDict]:
    """JSON objects with nested arrays/objects, unicode keys and strings, ints and floats."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**12), 10**12),
        st.floats(allow_nan=False, allow_infinity=False),
        _TEXT,
    )
    values = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(_KEY, inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )
    return st.dictionaries(_KEY, values, max_size=6)


def _id(prefix: str) -> st.SearchStrategy[str]:
    return st.text(
        alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
        min_size=6,
        max_size=24,
    ).map(lambda s: prefix + s)


_CITATION = st.fixed_dictionaries(
    {
        "type": st.just("char_location"),
        "cited_text": _TEXT,
        "document_index": st.integers(0, 3),
        "start_char_index": st.integers(0, 100),
        "end_char_index": st.integers(100, 200),
    }
)


def _text_block() -> st.SearchStrategy[JSONDict]:
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("text"), "text": _TEXT}),
        st.fixed_dictionaries(
            {
                "type": st.just("text"),
                "text": _TEXT,
                "citations": st.lists(_CITATION, min_size=1, max_size=3),
            }
        ),
    )


def _blocks() -> st.SearchStrategy[JSONDict]:
    return st.one_of(
        _text_block(),
        st.fixed_dictionaries(
            {
                "type": st.just("thinking"),
                "thinking": _TEXT,
                "signature": st.text(alphabet="ABCxyz012+/=", max_size=40),
            }
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("redacted_thinking"),
                "data": st.text(alphabet="ABCxyz012+/=", max_size=40),
            }
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("tool_use"),
                "id": _id("toolu_"),
                "name": st.sampled_from(["get_weather", "search", "f"]),
                "input": json_objects(),
            }
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("tool_use"),
                "id": _id("toolu_"),
                "name": st.just("get_weather"),
                "input": json_objects(),
                "caller": st.just({"type": "direct"}),
            }
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("server_tool_use"),
                "id": _id("srvtoolu_"),
                "name": st.just("web_search"),
                "input": json_objects(),
            }
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("web_search_tool_result"),
                "tool_use_id": _id("srvtoolu_"),
                "content": st.just(
                    [
                        {
                            "type": "web_search_result",
                            "url": "https://example.com",
                            "title": "Example",
                            "encrypted_content": "abc",
                            "page_age": None,
                        }
                    ]
                ),
            }
        ),
        st.fixed_dictionaries({"type": st.just("future_block_type"), "payload": json_objects()}),
    )


def _usage() -> st.SearchStrategy[JSONDict]:
    return st.fixed_dictionaries(
        {"input_tokens": st.integers(0, 10**6), "output_tokens": st.integers(1, 10**5)},
        optional={
            "cache_creation_input_tokens": st.integers(0, 10**5),
            "cache_read_input_tokens": st.integers(0, 10**5),
            "service_tier": st.sampled_from(["standard", "priority", "batch"]),
            "server_tool_use": st.fixed_dictionaries({"web_search_requests": st.integers(0, 5)}),
        },
    )


def messages(*, max_blocks: int = 4) -> st.SearchStrategy[JSONDict]:
    """Final (non-streamed) Message objects as the API sends them."""
    _check_bounds("max_blocks", 0, max_blocks)
    return st.fixed_dictionaries(
        {
            "id": _id("msg_"),
            "type": st.just("message"),
            "role": st.just("assistant"),
            "model": st.sampled_from(["claude-opus-4-6", "claude-haiku-4-5", "claude-x"]),
            "content": st.lists(_blocks(), max_size=max_blocks),
            "stop_reason": st.sampled_from(
                ["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]
            ),
            "stop_sequence": st.one_of(st.none(), st.sampled_from(["###", "\n\nHuman:"])),
            "usage": _usage(),
        },
        optional={
            "stop_details": st.none(),
            "container": st.none(),
            "future_field": json_objects(max_leaves=3),
        },
    )


# --- streams ----------------------------------------------------------------------------


def _start_shell(block: JSONDict) -> JSONDict:
    t = block["type"]
    if t == "text":
        return {"type": "text", "text": ""}
    if t == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    if t in ("tool_use", "server_tool_use"):
        return {**block, "input": {}}
    return block  # delivered whole in content_block_start


@st.composite
def _stream_for(draw: st.DrawFn, message: JSONDict) -> tuple[list[JSONDict], JSONDict]:
    events: list[JSONDict] = []

    def maybe_ping() -> None:
        if draw(st.integers(0, 5)) == 0:
            events.append({"type": "ping"})

    usage = message["usage"]
    start_usage = {k: v for k, v in usage.items() if k != "output_tokens"}
    start_usage["output_tokens"] = draw(st.integers(0, 1))
    shell = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    events.append({"type": "message_start", "message": shell})
    maybe_ping()
    for index, block in enumerate(message["content"]):
        events.append(
            {"type": "content_block_start", "index": index, "content_block": _start_shell(block)}
        )
        for delta in _block_deltas(draw, block):
            events.append({"type": "content_block_delta", "index": index, "delta": delta})
            maybe_ping()
        events.append({"type": "content_block_stop", "index": index})
    events.append(_final_delta(message))
    maybe_ping()
    events.append({"type": "message_stop"})
    return events, message


def _block_deltas(draw: st.DrawFn, block: JSONDict) -> list[JSONDict]:
    """The deltas that build `block` from its start shell, cut at drawn points."""
    t = block["type"]
    if t == "text":
        deltas = [{"type": "text_delta", "text": piece} for piece in draw(_cut(block["text"], 8))]
        for citation in block.get("citations", []):
            deltas.append({"type": "citations_delta", "citation": citation})
        return deltas
    if t == "thinking":
        pieces = draw(_cut(block["thinking"], 8))
        deltas = [{"type": "thinking_delta", "thinking": piece} for piece in pieces]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
        return deltas
    if t in ("tool_use", "server_tool_use"):
        text = json.dumps(
            block["input"],
            ensure_ascii=draw(st.booleans()),
            separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])),
        )
        pieces = draw(_cut(text, 12))
        if block["input"] == {} and draw(st.booleans()):
            pieces = []  # no fragments at all: the input stays {}
        elif draw(st.booleans()):
            pieces = ["", *pieces]  # an empty first fragment is common
        return [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
    return []  # delivered whole in content_block_start


def _final_delta(message: JSONDict) -> JSONDict:
    """The `message_delta` that ends the stream of `message`."""
    final_delta: JSONDict = {
        "stop_reason": message["stop_reason"],
        "stop_sequence": message["stop_sequence"],
    }
    for key in ("stop_details", "container"):
        if key in message:
            final_delta[key] = message[key]
    delta_event: JSONDict = {
        "type": "message_delta",
        "delta": final_delta,
        "usage": dict(message["usage"]),
    }
    if "future_field" in message:
        delta_event["future_field"] = message["future_field"]
    return delta_event


def stream_event_sequences(
    *, max_blocks: int = 4
) -> st.SearchStrategy[tuple[list[JSONDict], JSONDict]]:
    """`(events, message)`: a valid event sequence and the final message it must build."""
    return messages(max_blocks=max_blocks).flatmap(_stream_for)


def _event_name(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and "\r" not in value and "\n" not in value


def encode_events(events: list[JSONDict]) -> bytes:
    """Frame events as the API does: `event: TYPE`, one compact `data:` line, a blank line.

    An event object whose `type` cannot be an `event:` value (not a string,
    empty, or with a line break) gets no `event:` line.
    """
    return b"".join(
        encode_sse(
            json.dumps(e, separators=(",", ":"), ensure_ascii=False),
            event=e["type"] if _event_name(e.get("type")) else None,
        )
        for e in events
    )
