"""wire and the official SDK build the same message from the same bytes.

Skipped where `anthropic` is not installed (it is a bench/test extra, never a
dependency of wire). The SDK adds keys it knows as null (e.g. `stop_details`);
those are dropped from its side before comparing, since the API did not send them.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wire
from tests.helpers import stream_decode
from wire.testing.strategies import chunkings, encode_events, stream_event_sequences

anthropic = pytest.importorskip("anthropic")


def _httpx() -> Any:
    for name in ("httpx2", "httpx"):
        if name in sys.modules:
            return sys.modules[name]
    pytest.skip("the SDK's HTTP client module is not importable")


def sdk_final_message(chunks: list[bytes]) -> dict[str, Any]:
    hx = _httpx()

    def handler(request: Any) -> Any:
        return hx.Response(200, headers={"content-type": "text/event-stream"}, content=iter(chunks))

    client = anthropic.Anthropic(
        api_key="sk-test", max_retries=0, http_client=hx.Client(transport=hx.MockTransport(handler))
    )
    with client.messages.stream(
        model="claude-x", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        message = stream.get_final_message()
    result: dict[str, Any] = message.model_dump(mode="json", exclude_unset=True, warnings=False)
    return result


def drop_invented_nulls(theirs: Any, ours: Any) -> Any:
    if isinstance(theirs, dict) and isinstance(ours, dict):
        return {
            k: drop_invented_nulls(v, ours.get(k))
            for k, v in theirs.items()
            if not (v is None and k not in ours)
        }
    if isinstance(theirs, list) and isinstance(ours, list) and len(theirs) == len(ours):
        return [drop_invented_nulls(t, o) for t, o in zip(theirs, ours, strict=True)]
    return theirs


@settings(max_examples=60)
@given(stream_event_sequences(max_blocks=3), st.data())
def test_same_final_message_as_the_sdk(
    seq: tuple[list[dict[str, Any]], dict[str, Any]], data: st.DataObject
) -> None:
    objs, final = seq
    stream = encode_events(objs)
    chunks = data.draw(chunkings(stream, max_chunks=200))
    _, message = stream_decode(chunks)
    assert message is not None
    ours = message.to_dict()
    assert ours == final
    assert drop_invented_nulls(sdk_final_message(chunks), ours) == ours


def test_sample_matches_the_sdk() -> None:
    from importlib import resources

    data = (resources.files("wire") / "samples" / "tool_use.sse").read_bytes()
    _, message = stream_decode([data])
    assert message is not None
    ours = message.to_dict()
    assert drop_invented_nulls(sdk_final_message([data]), ours) == ours
    assert isinstance(message, wire.Message)
