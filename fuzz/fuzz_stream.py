#!/usr/bin/env python3
"""Fuzz `wire.MessageStreamDecoder`: chunking never matters and only WireError escapes.

Input: see fuzz/_common.py (header, chunk sizes, payload). `flags & 1` picks
what the payload is:
- 0: the raw response body (mutations of real streams, e.g. the seeds);
- 1: a small program (see `build_stream`) that writes a stream of well-formed
  SSE events with JSON data from a grammar of Messages events -- in order or
  not, with wrong field types, broken tool input, unknown types -- so the
  fuzzer reaches the accumulator instead of stopping at the first bad JSON.

Invariants checked on every input (runs: whole, one byte at a time, the
fuzzer's chunks):
1. Only `WireError` subclasses escape `feed()`; reading `message` never
   raises; `close()` raises `IncompleteStreamError` or an error the last
   `feed()` deferred; `to_dict()` of every event and of the message never
   raises.
2. One byte at a time, feed() completes at most one event, so that run is the
   reference. Without an error, every run returns the same events (compared by
   repr) and then has the same `message`, `done`, `error` and `close()`
   outcome. With an error, every run raises the same one (type and text), the
   events it returned before are a prefix of the reference's (a feed() that
   hits a bad event returns the good ones before it and defers the error to
   the next call), and `message`,
   `done` and `error` are the same: events apply in stream order, the bad one
   stops them. `close()` after an error is not compared: whether it reports an
   event cut off mid-way depends on how many bytes the failing chunk carried.
3. Round trip: every SSE event that `parse_stream_event` accepts gives back
   exactly its JSON from `to_dict()` (no key lost, none invented; key order
   aside).

Run: python fuzz/fuzz_stream.py -max_total_time=60 fuzz/seeds/stream
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: import wire and fuzz from this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import wire
from fuzz._common import chunks, fuzz_main, same, short, split_input


class Run:
    """What one MessageStreamDecoder made of one chunking."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts
        self.events: list[str] = []
        self.error: str | None = None
        decoder = wire.MessageStreamDecoder()
        try:
            for part in parts:
                got = decoder.feed(part)
                assert type(got) is list, f"feed() returned {type(got).__name__}"
                for event in got:
                    _to_dict(event, "event")
                    self.events.append(repr(event))
        except wire.WireError as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        message = _read_message(decoder)
        self.message = None if message is None else repr(_to_dict(message, "message"))
        self.done = decoder.done
        self.stream_error = repr(decoder.error)
        self.close: str | None = None
        try:
            decoder.close()
        except wire.IncompleteStreamError as exc:
            partial = exc.partial_message
            partial_repr = None if partial is None else repr(_to_dict(partial, "partial"))
            self.close = f"IncompleteStreamError: {exc} / {partial_repr}"
        except wire.WireError as exc:
            # An error deferred by the last feed() (it returned the good events first).
            assert self.error is None, "close() raised a second error"
            self.error = f"{type(exc).__name__}: {exc}"

    def outcome(self) -> tuple[Any, ...]:
        return (self.events, self.error, self.message, self.done, self.stream_error, self.close)

    def after_error(self) -> tuple[Any, ...]:
        """What must not depend on the chunking even after an error."""
        return (self.message, self.done, self.stream_error)

    def label(self) -> str:
        return f"chunks {short([len(p) for p in self.parts], 200)}"


def _read_message(decoder: wire.MessageStreamDecoder) -> wire.Message | None:
    try:
        return decoder.message
    except Exception as exc:
        raise AssertionError(f"reading .message raised {exc!r:.300}") from exc


def _to_dict(obj: Any, what: str) -> dict[str, Any]:
    try:
        d = obj.to_dict()
    except Exception as exc:
        raise AssertionError(f"{what}.to_dict() raised {exc!r:.300}") from exc
    assert type(d) is dict, f"{what}.to_dict() returned {type(d).__name__}"
    return d


def check_round_trip(stream: bytes) -> None:
    """Invariant 3, on the SSE events of the stream."""
    decoder = wire.SSEDecoder()
    for sse in decoder.feed(stream):
        try:
            event = wire.parse_stream_event(sse)
        except wire.WireError:
            continue
        try:
            data = json.loads(sse.data)
        except (ValueError, RecursionError):
            raise AssertionError(f"parse_stream_event took non-JSON {sse.data!r:.300}") from None
        back = _to_dict(event, type(event).__name__)
        assert same(back, data, ordered=False), (
            f"{type(event).__name__}.to_dict() differs from the event's JSON\n"
            f"  data {short(sse.data)}\n  to_dict {short(back)}"
        )


def check(data: bytes) -> None:
    fuzz = split_input(data)
    stream = build_stream(fuzz.payload) if fuzz.flags & 1 else fuzz.payload
    check_round_trip(stream)
    reference = Run([stream[i : i + 1] for i in range(len(stream))])
    for parts in ([stream], chunks(stream, fuzz.sizes)):
        run = Run(parts)
        if reference.error is None:
            assert same(run.outcome(), reference.outcome()), (
                f"{run.label()} differs from one byte at a time\n  stream {short(stream, 2000)}\n"
                f"  chunked   {short(run.outcome(), 1500)}\n"
                f"  bytewise  {short(reference.outcome(), 1500)}"
            )
            continue
        assert run.error == reference.error, (
            f"{run.label()}: the error differs from one byte at a time\n"
            f"  stream {short(stream, 2000)}\n  chunked  {run.error}\n  bytewise {reference.error}"
        )
        assert run.events == reference.events[: len(run.events)], (
            f"{run.label()}: events before the error are not a prefix of those one byte at a "
            f"time\n  stream {short(stream, 2000)}"
        )
        assert same(run.after_error(), reference.after_error()), (
            f"{run.label()}: the state after the error differs from one byte at a time\n"
            f"  stream {short(stream, 2000)}\n  chunked  {short(run.after_error(), 1500)}\n"
            f"  bytewise {short(reference.after_error(), 1500)}"
        )


# --- the structured mode ------------------------------------------------------------------

_JSONISH = '{}[]:,"\\ 0123456789.-+eEtruefalsnull"ab\u00e9\n'
_TEXTISH = 'ab \u00e9\u6771\U0001f324\n\r\\"\x00:'


class _Program:
    """Reads choices from bytes; past the end every choice is 0."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def more(self) -> bool:
        return self.pos < len(self.data)

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def pick(self, options: list[Any] | tuple[Any, ...] | str) -> Any:
        return options[self.byte() % len(options)]

    def text(self, alphabet: str) -> str:
        return "".join(self.pick(alphabet) for _ in range(self.byte() % 12))


def _usage(p: _Program) -> dict[str, Any]:
    usage: dict[str, Any] = p.pick(
        [
            {"input_tokens": 10, "output_tokens": 1},
            {"output_tokens": 7},
            {
                "input_tokens": 10,
                "output_tokens": 3,
                "cache_read_input_tokens": 2,
                "server_tool_use": {"web_search_requests": 1},
            },
            {"output_tokens": "7"},
            {"output_tokens": 1.5},
            {"output_tokens": None},
            {},
        ]
    )
    return usage


def _index(p: _Program) -> Any:
    return p.pick([0, 1, 2, 0, 1, -1, "0", None, 10**30])


def _block(p: _Program) -> Any:
    return p.pick(
        [
            {"type": "text", "text": ""},
            {"type": "text", "text": "Hi", "citations": None},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
            {"type": "thinking", "thinking": "", "signature": ""},
            {"type": "redacted_thinking", "data": "xyz"},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
            {"type": "tool_use", "id": 5, "name": "x", "input": {}},
            {"type": "text"},
            {"type": 3},
            "text",
        ]
    )


def _delta(p: _Program) -> Any:
    kind = p.byte() % 9
    if kind == 0:
        return {"type": "text_delta", "text": p.text(_TEXTISH)}
    if kind == 1:
        return {"type": "input_json_delta", "partial_json": p.text(_JSONISH)}
    if kind == 2:
        return {"type": "thinking_delta", "thinking": p.text(_TEXTISH)}
    if kind == 3:
        return {"type": "signature_delta", "signature": p.text("abc=")}
    if kind == 4:
        return {
            "type": "citations_delta",
            "citation": {"type": "char_location", "cited_text": "x", "start_char_index": 0},
        }
    if kind == 5:
        return {"type": "future_delta", "stuff": [1, {"a": None}]}
    if kind == 6:
        return {"type": "text_delta", "text": p.pick([None, 5, ["a"]]), "extra": True}
    if kind == 7:
        return {"type": "input_json_delta", "partial_json": p.pick(['{"a": 1}', "{", "}", ""])}
    return p.pick([None, {}, {"type": None}, []])


def _event(p: _Program) -> tuple[str, Any]:
    """One event as (SSE event name, JSON value); a few raw-data cases use a str."""
    kind = p.byte() % 16
    if kind == 0:
        message: dict[str, Any] = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "m",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": _usage(p),
        }
        if p.byte() % 4 == 0:
            message["content"] = [_block(p)]
        if p.byte() % 4 == 0:
            del message[p.pick(list(message))]
        return "message_start", {"type": "message_start", "message": message}
    if kind in (1, 2):
        return "content_block_start", {
            "type": "content_block_start",
            "index": _index(p),
            "content_block": _block(p),
        }
    if kind in (3, 4, 5, 6):
        return "content_block_delta", {
            "type": "content_block_delta",
            "index": _index(p),
            "delta": _delta(p),
        }
    if kind == 7:
        return "content_block_stop", {"type": "content_block_stop", "index": _index(p)}
    if kind == 8:
        delta = p.pick(
            [
                {"stop_reason": "end_turn", "stop_sequence": None},
                {"stop_reason": "tool_use"},
                {"stop_reason": 3},
                {"stop_sequence": ["x"]},
                {"container": {"id": "c"}, "stop_details": None},
                {},
            ]
        )
        d: dict[str, Any] = {"type": "message_delta", "delta": delta, "usage": _usage(p)}
        if p.byte() % 4 == 0:
            d["context_management"] = {"applied_edits": []}
        return "message_delta", d
    if kind == 9:
        return "message_stop", {"type": "message_stop"}
    if kind == 10:
        return "ping", {"type": "ping"}
    if kind == 11:
        return "error", {
            "type": "error",
            "error": p.pick(
                [
                    {"type": "overloaded_error", "message": "Overloaded"},
                    {"type": "api_error"},
                    {},
                    "boom",
                    None,
                ]
            ),
        }
    if kind == 12:
        return p.pick(["mystery", "message"]), {"type": "mystery_event", "x": [1, 2.5, None]}
    if kind == 13:
        return "raw", p.text(_JSONISH)  # data that may not be JSON at all
    if kind == 14:
        return p.pick(["message_start", "ping"]), p.pick([[], "x", 1, None, {"type": 7}])
    return "message_delta", {"type": "message_delta", "delta": None}


def build_stream(program: bytes) -> bytes:
    """A stream of SSE events from `program` (see `_event`), pings and comments included."""
    p = _Program(program)
    out: list[bytes] = []
    while p.more():
        name, value = _event(p)
        data = value if name == "raw" else json.dumps(value, ensure_ascii=p.byte() % 2 == 0)
        out.append(wire.encode_sse(data, event=None if name == "raw" else name))
        if p.byte() % 8 == 0:
            out.append(b": keep-alive\r\n\r\n")
    return b"".join(out)


if __name__ == "__main__":
    fuzz_main("fuzz.fuzz_stream")
