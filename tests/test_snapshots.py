"""Snapshots read after every fragment or event: immutable, consistent, and O(change) to read.

The cost tests count the Python lines wire executes (`sys.settrace`), which is
exact and immune to machine load: reading after every event must stay linear
in the stream (2x input / 1x input <= 2.2). What a read copies at C level
(the changed block's text, the open tool-input containers, one pointer per
block for the `content` tuple) is not seen here; bench/bench_stream.py times it.
"""

from __future__ import annotations

import copy
import gc
import json
import sys
import warnings
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from types import FrameType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import wire
from wire.testing.strategies import json_objects, stream_event_sequences

WIRE_DIR = str(Path(wire.__file__).parent)


def lines_executed(run: Callable[[], object]) -> int:
    """How many lines of wire's own code `run()` executes."""
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def global_(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(WIRE_DIR) else None

    # Garbage from earlier tests (a driver's suspended generator, say) may run wire's
    # code when collected: collect it first, and keep the collector out of the count.
    # (What it finds is their business: an unclosed socket of theirs is not this test's.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    gc.disable()
    old = sys.gettrace()
    sys.settrace(global_)
    try:
        run()
    finally:
        sys.settrace(old)
        gc.enable()
    return count


def events_of(objs: list[dict[str, Any]]) -> list[wire.StreamEvent]:
    return [wire.stream_event_from_dict(obj) for obj in objs]


def shell() -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    return {"type": "message_start", "message": message}


def finish() -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]


def many_blocks(n: int) -> list[wire.StreamEvent]:
    """`n` small blocks of every streamed kind, in turn."""
    objs = [shell()]
    for i in range(n):
        kind = i % 3
        if kind == 0:
            block: dict[str, Any] = {"type": "text", "text": ""}
            d: dict[str, Any] = {"type": "text_delta", "text": "hello"}
        elif kind == 1:
            block = {"type": "thinking", "thinking": "", "signature": ""}
            d = {"type": "thinking_delta", "thinking": "hmm"}
        else:
            block = {"type": "tool_use", "id": f"t{i}", "name": "f", "input": {}}
            d = {"type": "input_json_delta", "partial_json": '{"a": [1, "x"]}'}
        objs += [
            {"type": "content_block_start", "index": i, "content_block": block},
            {"type": "content_block_delta", "index": i, "delta": d},
            {"type": "content_block_stop", "index": i},
        ]
    return events_of(objs + finish())


def long_tool_input(n: int) -> list[wire.StreamEvent]:
    """One tool block whose input is an array of `n` records, in ~8-character fragments."""
    text = json.dumps({"rows": [{"id": i, "name": f"row {i}"} for i in range(n)]})
    objs = [
        shell(),
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}},
        },
    ]
    objs += [
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": text[i : i + 8]},
        }
        for i in range(0, len(text), 8)
    ]
    return events_of([*objs, {"type": "content_block_stop", "index": 0}, *finish()])


def read_after_every_event(events: list[wire.StreamEvent]) -> Callable[[], object]:
    def run() -> object:
        acc = wire.MessageAccumulator()
        for event in events:
            acc.feed(event)
            acc.message  # noqa: B018 - the read is the point
        return acc.message

    return run


def assert_linear(make: Callable[[int], Callable[[], object]], n: int) -> None:
    lines_executed(make(n // 4))  # first uses (lazy tables, caches) out of the count
    one = lines_executed(make(n))
    two = lines_executed(make(2 * n))
    assert two / one <= 2.2, (n, one, two)


# -- cost -----------------------------------------------------------------------------------


def test_reading_the_message_after_every_event_is_linear_in_blocks() -> None:
    assert_linear(lambda n: read_after_every_event(many_blocks(n)), 300)


def test_reading_the_message_after_every_tool_input_fragment_is_linear() -> None:
    assert_linear(lambda n: read_after_every_event(long_tool_input(n)), 150)


def test_parser_snapshot_after_every_fragment_is_linear() -> None:
    def make(n: int) -> Callable[[], object]:
        text = json.dumps({"a": {"b": [[i, {"k": "v" * (i % 7)}] for i in range(n)]}})

        def run() -> object:
            parser = wire.PartialJSONParser()
            for i in range(0, len(text), 5):
                parser.feed(text[i : i + 5])
                parser.snapshot()
            return parser.result()

        return run

    assert_linear(make, 200)


def test_a_read_that_finds_nothing_new_returns_the_same_objects() -> None:
    events = long_tool_input(3)
    acc = wire.MessageAccumulator()
    for event in events[:2]:
        acc.feed(event)
    first = acc.message
    assert acc.message is first
    # Fragments inside an open string show nothing new: the same message comes back.
    acc.feed(wire.stream_event_from_dict(_json_delta('{"rows": [{"name": "ab')))
    second = acc.message
    acc.feed(wire.stream_event_from_dict(_json_delta("cdef")))
    assert acc.message is second
    acc.feed(wire.stream_event_from_dict(_json_delta('", "id": 1}')))
    third = acc.message
    assert third is not second
    assert third is not None
    assert third.content[0].input == {"rows": [{"name": "abcdef", "id": 1}]}  # type: ignore[union-attr]


def _json_delta(fragment: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "input_json_delta", "partial_json": fragment},
    }


def test_unchanged_blocks_are_shared_between_reads() -> None:
    acc = wire.MessageAccumulator()
    for event in many_blocks(6)[:-2]:
        acc.feed(event)
    before = acc.message
    assert before is not None
    acc.feed(
        wire.stream_event_from_dict(
            {"type": "content_block_start", "index": 6, "content_block": {"type": "text"}}
        )
    )
    after = acc.message
    assert after is not None
    assert all(a is b for a, b in zip(before.content, after.content, strict=False))
    assert len(after.content) == len(before.content) + 1


# -- immutability and consistency -------------------------------------------------------------


@settings(max_examples=60)
@given(stream_event_sequences(), st.data())
def test_messages_handed_out_never_change_and_match_a_fresh_accumulator(
    sequence: tuple[list[dict[str, Any]], dict[str, Any]], data: st.DataObject
) -> None:
    objs, final = sequence
    events = events_of(objs)
    reads = data.draw(st.lists(st.booleans(), min_size=len(events), max_size=len(events)))
    acc = wire.MessageAccumulator()
    held: list[tuple[wire.Message, dict[str, Any], int]] = []
    for i, (event, read) in enumerate(zip(events, reads, strict=True)):
        acc.feed(event)
        if read and acc.message is not None:
            held.append((acc.message, copy.deepcopy(acc.message.to_dict()), i))
    assert acc.message is not None
    assert acc.message.to_dict() == final
    for message, snapshot, i in held:
        assert message.to_dict() == snapshot  # unchanged by everything fed later
        fresh = wire.MessageAccumulator()
        for event in events[: i + 1]:
            fresh.feed(event)
        assert fresh.message is not None
        assert fresh.message.to_dict() == snapshot  # reads do not change what a read sees


@settings(max_examples=60)
@given(json_objects(), st.data())
def test_parser_snapshots_never_change_and_match_a_fresh_parser(
    value: dict[str, Any], data: st.DataObject
) -> None:
    text = json.dumps(value)
    if data.draw(st.booleans()):  # and broken text: an error drops a token in progress
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(st.text('x1.e-]}",:{[ ', max_size=3)) + text[at:]
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=30))
    points = [0, *sorted(cuts), len(text)]
    parser = wire.PartialJSONParser()
    held = []
    for a, b in pairwise(points):
        parser.feed(text[a:b])
        snapshot = parser.snapshot()
        fresh = wire.PartialJSONParser()
        fresh.feed(text[:b])
        assert snapshot == fresh.snapshot()
        held.append((snapshot, copy.deepcopy(snapshot)))
    for snapshot, saved in held:
        assert snapshot == saved
