"""Long property runs, deselected by default: `pytest -m heavy` (with
`HYPOTHESIS_PROFILE=heavy` for more examples). Bigger inputs than the CI budget
allows: whole streams of generated messages in 1-byte chunks, and large tool
inputs in tiny fragments."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import stream_decode
from wire import PartialJSONParser
from wire.testing.strategies import encode_events, json_objects, stream_event_sequences

pytestmark = pytest.mark.heavy


@settings(max_examples=300)
@given(stream_event_sequences(max_blocks=8))
def test_one_byte_chunks_of_long_streams(seq: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    objs, final = seq
    stream = encode_events(objs)
    _, message = stream_decode([stream[i : i + 1] for i in range(len(stream))])
    assert message is not None
    assert message.to_dict() == final


@settings(max_examples=100)
@given(st.lists(json_objects(max_leaves=40), min_size=20, max_size=60), st.integers(1, 12))
def test_large_tool_input_in_tiny_fragments(items: list[dict[str, Any]], size: int) -> None:
    text = json.dumps({"items": items}, ensure_ascii=False)
    parser = PartialJSONParser()
    for i in range(0, len(text), size):
        parser.feed(text[i : i + size])
    assert parser.result() == json.loads(text)
