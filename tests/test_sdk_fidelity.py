"""The official SDK as a client of the emulator: it must not tell it from the real API.

Skipped where `anthropic` (a test/bench extra, never a dependency of wire) or
`trio` is not installed. Everything runs on loopback with bounded retries.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

import wire

anthropic = pytest.importorskip("anthropic")
pytest.importorskip("trio")

from tests.test_interop_sdk import drop_invented_nulls  # noqa: E402
from wire.testing import serve  # noqa: E402
from wire.testing.emulator import MODELS  # noqa: E402

HELLO = [{"role": "user", "content": "What is the weather in Paris?"}]
MODEL = "claude-opus-4-6"


def _httpx() -> Any:
    for name in ("httpx2", "httpx"):
        if name in sys.modules:
            return sys.modules[name]
    pytest.skip("the SDK's HTTP client module is not importable")


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with serve(seed=11, batch_seconds=0.3) as running:
        yield running


def client_for(server: Any, *, tee: list[bytes] | None = None, **options: Any) -> Any:
    """An SDK client aimed at the emulator; with `tee`, response bodies are recorded too."""
    hx = _httpx()
    if tee is None:
        return anthropic.Anthropic(api_key="sk-test", base_url=server.base_url, **options)

    class Tee(hx.HTTPTransport):  # type: ignore[misc, name-defined]
        def handle_request(self, request: Any) -> Any:
            response = super().handle_request(request)
            body = response.read()
            assert tee is not None
            tee.append(body)
            headers = [
                (k, v)
                for k, v in response.headers.raw
                if k.lower() not in (b"content-encoding", b"content-length", b"transfer-encoding")
            ]
            return hx.Response(response.status_code, headers=headers, content=body, request=request)

    return anthropic.Anthropic(
        api_key="sk-test",
        base_url=server.base_url,
        http_client=hx.Client(transport=Tee()),
        **options,
    )


def assert_wire_agrees(body: bytes, sdk_message: Any) -> None:
    """wire's MessageStreamDecoder builds the SDK's final message from the same body bytes."""
    decoder = wire.MessageStreamDecoder()
    decoder.feed(body)
    decoder.close()
    assert decoder.message is not None
    ours = decoder.message.to_dict()
    theirs = sdk_message.model_dump(mode="json", exclude_unset=True, warnings=False)
    assert drop_invented_nulls(theirs, ours) == ours


def test_create_message(server: Any) -> None:
    with client_for(server) as client:
        message = client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.content[0].type == "text"
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert message.usage.output_tokens >= 1


def test_stream_matches_wire_on_the_same_bytes(server: Any) -> None:
    bodies: list[bytes] = []
    with (
        client_for(server, tee=bodies) as client,
        client.messages.stream(model=MODEL, max_tokens=80, messages=HELLO) as stream,
    ):
        texts = list(stream.text_stream)
        sdk_message = stream.get_final_message()
    assert "".join(texts) == "".join(b.text for b in sdk_message.content if b.type == "text")
    assert_wire_agrees(bodies[-1], sdk_message)


def test_stream_with_tools_and_thinking(server: Any) -> None:
    bodies: list[bytes] = []
    tools = [
        {
            "name": "get_weather",
            "description": "Current weather",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    with (
        client_for(server, tee=bodies) as client,
        client.messages.stream(
            model=MODEL,
            max_tokens=2048,
            # The API refuses thinking with a forced tool_choice: `auto`, and a prompt
            # naming the tool, so the emulator calls it.
            messages=[{"role": "user", "content": "Use get_weather: the weather in Paris?"}],
            tools=tools,
            tool_choice={"type": "auto"},
            thinking={"type": "adaptive"},
        ) as stream,
    ):
        message = stream.get_final_message()
    kinds = [b.type for b in message.content]
    assert kinds[0] == "thinking"
    assert "tool_use" in kinds
    assert message.stop_reason == "tool_use"
    tool = next(b for b in message.content if b.type == "tool_use")
    assert isinstance(tool.input.get("city"), str)
    assert_wire_agrees(bodies[-1], message)


def test_models_list_follows_pagination(server: Any) -> None:
    with client_for(server) as client:
        assert [m.id for m in client.models.list(limit=2)] == [m["id"] for m in MODELS]
        assert client.models.retrieve(MODEL).display_name == MODELS[0]["display_name"]


def test_count_tokens(server: Any) -> None:
    with client_for(server) as client:
        counted = client.messages.count_tokens(model=MODEL, messages=HELLO)
    assert counted.input_tokens >= 1


def test_batch_to_completion(server: Any) -> None:
    with client_for(server) as client:
        _batch_to_completion(client)


def _batch_to_completion(client: Any) -> None:
    batch = client.messages.batches.create(
        requests=[
            {
                "custom_id": f"req-{i}",
                "params": {"model": MODEL, "max_tokens": 32, "messages": HELLO},
            }
            for i in range(3)
        ]
    )
    assert batch.processing_status == "in_progress"
    deadline = time.monotonic() + 10
    while batch.processing_status != "ended":
        assert time.monotonic() < deadline, "the batch did not end"
        time.sleep(0.1)
        batch = client.messages.batches.retrieve(batch.id)
    assert batch.request_counts.succeeded == 3
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert sorted(results) == ["req-0", "req-1", "req-2"]
    assert all(r.type == "succeeded" for r in results.values())
    assert next(iter(client.messages.batches.list(limit=100))).id == batch.id
    deleted = client.messages.batches.delete(batch.id)
    assert deleted.id == batch.id


@pytest.mark.parametrize("fault", ["status=529;times=2", "status=429;retry-after=0.05;times=2"])
def test_sdk_retries_injected_faults_then_succeeds(server: Any, fault: str) -> None:
    before = server.emulator.requests_seen
    # A unique header value per run, so `times` counts only this test's requests.
    unique = f"{fault};chunk={1000 + before}"
    with client_for(server, max_retries=2) as client:
        message = client.messages.create(
            model=MODEL, max_tokens=16, messages=HELLO, extra_headers={"x-wire-fault": unique}
        )
    assert message.usage.output_tokens >= 1
    assert server.emulator.requests_seen - before == 3


def test_sdk_gives_up_after_max_retries(server: Any) -> None:
    before = server.emulator.requests_seen
    with client_for(server, max_retries=1) as client, pytest.raises(anthropic.InternalServerError):
        client.messages.create(
            model=MODEL, max_tokens=16, messages=HELLO, extra_headers={"x-wire-fault": "status=529"}
        )
    assert server.emulator.requests_seen - before == 2


def test_sdk_sees_the_error_envelope(server: Any) -> None:
    with (
        serve(api_key="sk-right") as strict,
        anthropic.Anthropic(api_key="sk-wrong", base_url=strict.base_url, max_retries=0) as client,
        pytest.raises(anthropic.AuthenticationError) as info,
    ):
        client.models.list()
    assert info.value.status_code == 401
    assert info.value.request_id is not None


def test_sdk_raises_on_an_error_event(server: Any) -> None:
    with (
        client_for(server, max_retries=0) as client,
        pytest.raises(anthropic.APIStatusError),
        client.messages.stream(
            model=MODEL,
            max_tokens=200,
            messages=HELLO,
            extra_headers={"x-wire-fault": "error-event=overloaded_error"},
        ) as stream,
    ):
        stream.get_final_message()


def test_async_sdk_streams_and_lists(server: Any) -> None:
    import asyncio

    async def main() -> tuple[str, list[str]]:
        async with anthropic.AsyncAnthropic(
            api_key="sk-test", base_url=server.base_url, max_retries=0
        ) as client:
            async with client.messages.stream(model=MODEL, max_tokens=40, messages=HELLO) as stream:
                text = "".join([piece async for piece in stream.text_stream])
                message = await stream.get_final_message()
            assert text == "".join(b.text for b in message.content if b.type == "text")
            ids = [m.id async for m in client.models.list(limit=3)]
            return message.stop_reason or "", ids

    stop_reason, ids = asyncio.run(main())
    assert stop_reason in ("end_turn", "max_tokens")
    assert ids == [m["id"] for m in MODELS]
