"""The emulator refuses what the API refuses (issue 17), and accepts what it accepts.

Every rule from both sides through the sans-IO emulator; `lenient=True` accepting the
refused ones; a hypothesis property over valid requests mutated at random (the answer
is a reply or an envelope naming a field: never a 500, a crash or a hang); the official
SDK's own calls (tools, thinking, images, batches) all passing; and the schemas checked
against the SDK's request types, so a field the SDK can send is never refused as unknown.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wire.testing import validation
from wire.testing.emulator import Emulator, Send

NOW = 1_790_000_000.0
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()
USER = {"role": "user", "content": "What is the weather in Paris?"}
WEATHER = {
    "name": "get_weather",
    "description": "Current weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
CALL = {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "18 C"}
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}


def ask(
    emulator: Emulator,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    """One exchange with the sans-IO emulator: (status, parsed JSON body or None)."""
    data = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
    head = {"host": "h", "x-api-key": "k", "anthropic-version": "2023-06-01"}
    head.update(headers or {})
    lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
    request = f"{method} {path} HTTP/1.1\r\n{lines}content-length: {len(data)}\r\n\r\n"
    connection = emulator.connection()
    actions = connection.receive_data(request.encode() + data, NOW)
    while connection.pending:
        actions += connection.next_actions(NOW)
    assert emulator.failures == []
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method=method, target=path, headers=[("host", "h")]))
    client.send(h11.EndOfMessage())
    client.receive_data(b"".join(a.data for a in actions if isinstance(a, Send)))
    status, chunks = 0, []
    while (event := client.next_event()) not in (h11.NEED_DATA, h11.PAUSED):
        if isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            chunks.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            break
    text = b"".join(chunks)
    return status, json.loads(text) if text.startswith(b"{") else None


def create(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "claude-opus-4-6", "max_tokens": 64, "messages": [USER]}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def turns(*contents: Any) -> list[dict[str, Any]]:
    """Alternating user/assistant messages with these contents."""
    return [
        {"role": ("user", "assistant")[i % 2], "content": content}
        for i, content in enumerate(contents)
    ]


# (body or (method, path, body), headers) refused with (status, error type, message part),
# and a nearby request the API accepts.
Case = tuple[Any, dict[str, str], int, str, Any, dict[str, str]]
THINK = {"type": "enabled", "budget_tokens": 1024}
CASES: dict[str, Case] = {
    # 1. tool_use / tool_result pairing (merged turns count as one)
    "tool_use unanswered": (
        create(messages=turns("hi", [CALL], "and?")),
        {},
        400,
        "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_01A",
        create(messages=turns("hi", [CALL], [RESULT])),
        {},
    ),
    "tool_result unexpected": (
        create(messages=turns("hi", "Sure.", [{**RESULT, "tool_use_id": "toolu_01B"}])),
        {},
        400,
        "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks",
        create(messages=[*turns("hi", [CALL]), {"role": "user", "content": [RESULT]}, USER]),
        {},
    ),
    "tool_use ids repeated": (
        create(messages=turns("hi", [CALL, CALL], [RESULT])),
        {},
        400,
        "`tool_use` ids must be unique",
        create(
            messages=turns(
                "hi",
                [CALL, {**CALL, "id": "toolu_01B"}],
                [RESULT, {**RESULT, "tool_use_id": "toolu_01B"}],
            )
        ),
        {},
    ),
    # 2. empty content
    "content empty string": (
        create(messages=turns("")),
        {},
        400,
        "messages.0: all messages must have non-empty content",
        create(messages=turns("x")),
        {},
    ),
    "content empty list": (
        create(messages=turns([])),
        {},
        400,
        "messages.0: all messages must have non-empty content",
        create(messages=[{"role": "user", "content": [{"type": "text", "text": "x"}]}]),
        {},
    ),
    "text block empty": (
        create(messages=turns([{"type": "text", "text": ""}])),
        {},
        400,
        "messages.0.content.0.text.text: text content blocks must be non-empty",
        create(messages=turns([{"type": "text", "text": "."}])),
        {},
    ),
    "text block blank": (
        create(messages=turns([{"type": "text", "text": " \n"}])),
        {},
        400,
        "text content blocks must contain non-whitespace text",
        create(messages=turns([{"type": "text", "text": " x "}])),
        {},
    ),
    # 3. unknown fields
    "top-level extra": (
        create(foo=1),
        {},
        400,
        "foo: Extra inputs are not permitted",
        create(metadata={"user_id": "u-1"}),
        {},
    ),
    "metadata extra": (
        create(metadata={"foo": 1}),
        {},
        400,
        "metadata.foo: Extra inputs are not permitted",
        create(metadata={"user_id": None}),
        {},
    ),
    "count_tokens max_tokens": (
        ("POST", "/v1/messages/count_tokens", create()),
        {},
        400,
        "max_tokens: Extra inputs are not permitted",
        ("POST", "/v1/messages/count_tokens", create(max_tokens=None)),
        {},
    ),
    # 4. the model's output limit
    "max_tokens over the limit": (
        create(model="claude-haiku-4-5", max_tokens=10_000_000),
        {},
        400,
        "max_tokens: 10000000 > 64000, which is the maximum allowed number of output tokens "
        "for claude-haiku-4-5-20251001",
        create(model="claude-haiku-4-5", max_tokens=64_000),
        {},
    ),
    "max_tokens negative": (
        create(max_tokens=-1),
        {},
        400,
        "max_tokens: Input should be greater than or equal to 0",
        create(max_tokens=128_000),
        {},
    ),
    # 5. sampling
    "temperature above 1": (
        create(temperature=1.5),
        {},
        400,
        "temperature: Input should be less than or equal to 1",
        create(temperature=1),
        {},
    ),
    "temperature below 0": (
        create(temperature=-0.5),
        {},
        400,
        "temperature: Input should be greater than or equal to 0",
        create(temperature=0),
        {},
    ),
    "temperature with top_p": (
        create(temperature=0.5, top_p=0.9),
        {},
        400,
        "`temperature` and `top_p` cannot both be specified for this model",
        create(model="claude-opus-4-1", temperature=0.5, top_p=0.9),
        {},
    ),
    "sampling under 2026-10-21": (
        create(top_k=5),
        {"anthropic-version": "2026-10-21"},
        400,
        "top_k: not supported in 2026-10-21",
        create(top_k=5),
        {},
    ),
    # 6. prefill
    "prefill on opus-4-6": (
        create(messages=turns("hi", "Sure")),
        {},
        400,
        "This model does not support assistant message prefill",
        create(model="claude-sonnet-4-5", messages=turns("hi", "Sure")),
        {},
    ),
    "prefill with trailing space": (
        create(model="claude-sonnet-4-5", messages=turns("hi", "Sure ")),
        {},
        400,
        "final assistant content cannot end with trailing whitespace",
        create(model="claude-sonnet-4-5", messages=turns("hi", " Sure")),
        {},
    ),
    # 7. models: a typo is a 404, aliases and dated ids work
    "model typo": (
        create(model="claude-opus-4-6x"),
        {},
        404,
        "model: claude-opus-4-6x",
        create(model="claude-sonnet-4-5-20250929"),
        {},
    ),
    "GET model typo": (
        ("GET", "/v1/models/claude-sonnet-4-5-typo", None),
        {},
        404,
        "model: claude-sonnet-4-5-typo",
        ("GET", "/v1/models/claude-sonnet-4-5", None),
        {},
    ),
    # 8. thinking
    "thinking budget below 1024": (
        create(max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 1023}),
        {},
        400,
        "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
        create(max_tokens=4096, thinking=THINK),
        {},
    ),
    "thinking budget not below max_tokens": (
        create(max_tokens=1024, thinking=THINK),
        {},
        400,
        "max_tokens: `max_tokens` must be greater than `thinking.budget_tokens`",
        create(max_tokens=1024, thinking=THINK),
        {"anthropic-beta": "interleaved-thinking-2025-05-14"},
    ),
    "thinking budget missing": (
        create(max_tokens=4096, thinking={"type": "enabled"}),
        {},
        400,
        "thinking.enabled.budget_tokens: Field required",
        create(max_tokens=4096, thinking={"type": "disabled"}),
        {},
    ),
    "adaptive thinking on an older model": (
        create(model="claude-haiku-4-5", thinking={"type": "adaptive"}),
        {},
        400,
        "thinking.type: 'adaptive' thinking is not supported by model",
        create(model="claude-sonnet-4-6", thinking={"type": "adaptive"}),
        {},
    ),
    "thinking with forced tool use": (
        create(max_tokens=4096, thinking=THINK, tools=[WEATHER], tool_choice={"type": "any"}),
        {},
        400,
        "Thinking may not be enabled when tool_choice forces tool use",
        create(max_tokens=4096, thinking=THINK, tools=[WEATHER], tool_choice={"type": "auto"}),
        {},
    ),
    "thinking with temperature": (
        create(max_tokens=4096, thinking=THINK, temperature=0.5),
        {},
        400,
        "`temperature` may only be set to 1 when thinking is enabled",
        create(max_tokens=4096, thinking=THINK, temperature=1),
        {},
    ),
    # 9. tool definitions
    "input_schema not an object schema": (
        create(tools=[{**WEATHER, "input_schema": {"type": "string"}}]),
        {},
        400,
        "tools.0.custom.input_schema.type: Input should be 'object'",
        create(tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]),
        {},
    ),
    "tool_choice type bogus": (
        create(tools=[WEATHER], tool_choice={"type": "bogus"}),
        {},
        400,
        "tool_choice: Input tag 'bogus' found using 'type' does not match any of the expected",
        create(tools=[WEATHER], tool_choice={"type": "tool", "name": "get_weather"}),
        {},
    ),
    "tool_choice names no tool": (
        create(tools=[WEATHER], tool_choice={"type": "tool", "name": "get_time"}),
        {},
        400,
        "tool_choice.name: Tool 'get_time' not found in tools",
        create(tools=[WEATHER], tool_choice={"type": "none"}),
        {},
    ),
    "tool names repeated": (
        create(tools=[WEATHER, WEATHER]),
        {},
        400,
        "tools.1.name: Tool names must be unique",
        create(tools=[WEATHER, {**WEATHER, "name": "get_time"}]),
        {},
    ),
    "tool name pattern": (
        create(tools=[{**WEATHER, "name": "get weather"}]),
        {},
        400,
        "tools.0.custom.name: String should match pattern",
        create(tools=[{**WEATHER, "name": "get-weather_2"}]),
        {},
    ),
    # 10. betas
    "unknown beta": (
        create(),
        {"anthropic-beta": "files-api-2025-04-14,made-up-2099-01-01"},
        400,
        "Unexpected value(s) `made-up-2099-01-01` for the `anthropic-beta` header",
        create(),
        {"anthropic-beta": "files-api-2025-04-14, interleaved-thinking-2025-05-14"},
    ),
    "unknown beta on GET": (
        ("GET", "/v1/models", None),
        {"anthropic-beta": "nope"},
        400,
        "anthropic-beta: Unexpected value(s) `nope`",
        ("GET", "/v1/models", None),
        {"anthropic-beta": "message-batches-2024-09-24"},
    ),
    # 11. images, stop sequences, batch ids and sizes, types
    "image media type": (
        create(
            messages=turns(
                [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/bmp", "data": PNG},
                    }
                ]
            )
        ),
        {},
        400,
        "source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or "
        "'image/webp'",
        create(
            messages=turns(
                [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                    }
                ]
            )
        ),
        {},
    ),
    "image bad base64": (
        create(
            messages=turns(
                [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": "not base64!",
                        },
                    }
                ]
            )
        ),
        {},
        400,
        "messages.0.content.0.source.data: Image data is not valid base64",
        create(
            messages=turns(
                [{"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]
            )
        ),
        {},
    ),
    "image bytes not the media type": (
        create(
            messages=turns(
                [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG},
                    }
                ]
            )
        ),
        {},
        400,
        "Image does not match the provided media type image/jpeg",
        create(messages=turns("look", [CALL], [{**RESULT, "content": [IMAGE]}])),
        {},
    ),
    "stop_sequences not a list": (
        create(stop_sequences="END"),
        {},
        400,
        "stop_sequences: Input should be a valid list",
        create(stop_sequences=["END", "\n\nHuman:"]),
        {},
    ),
    "stop_sequences with an empty one": (
        create(stop_sequences=["END", ""]),
        {},
        400,
        "stop_sequences.1: stop sequences must contain non-whitespace characters",
        create(stop_sequences=["END"]),
        {},
    ),
    "system not a string": (
        create(system=42),
        {},
        400,
        "system: Input should be a valid string or a valid list",
        create(
            system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
        ),
        {},
    ),
    "metadata.user_id not a string": (
        create(metadata={"user_id": 5}),
        {},
        400,
        "metadata.user_id: Input should be a valid string",
        create(metadata={"user_id": "5"}),
        {},
    ),
    "stream not a boolean": (
        create(stream="true"),
        {},
        400,
        "stream: Input should be a valid boolean",
        create(stream=False),
        {},
    ),
    # 12. model missing or not a string: 400, not 404
    "model missing": (
        create(model=None),
        {},
        400,
        "model: Field required",
        create(model="claude-opus-4-1"),
        {},
    ),
    "model empty": (
        create(model=""),
        {},
        400,
        "model: String should have at least 1 character",
        create(model="claude-haiku-4-5-20251001"),
        {},
    ),
    "model not a string": (
        create(model=["claude-opus-4-6"]),
        {},
        400,
        "model: Input should be a valid string",
        create(model="claude-opus-4-6"),
        {},
    ),
    "batch custom_id pattern": (
        ("POST", "/v1/messages/batches", {"requests": [{"custom_id": "a b", "params": create()}]}),
        {},
        400,
        "requests.0.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'",
        (
            "POST",
            "/v1/messages/batches",
            {"requests": [{"custom_id": "a-b_1", "params": create()}]},
        ),
        {},
    ),
    "batch custom_id repeated": (
        (
            "POST",
            "/v1/messages/batches",
            {
                "requests": [
                    {"custom_id": "a", "params": create()},
                    {"custom_id": "a", "params": create()},
                ]
            },
        ),
        {},
        400,
        "requests.1.custom_id: must be unique within the batch",
        (
            "POST",
            "/v1/messages/batches",
            {
                "requests": [
                    {"custom_id": "a", "params": create()},
                    {"custom_id": "b", "params": create()},
                ]
            },
        ),
        {},
    ),
    "batch request extra field": (
        (
            "POST",
            "/v1/messages/batches",
            {"requests": [{"custom_id": "a", "params": create(), "priority": 1}]},
        ),
        {},
        400,
        "requests.0.priority: Extra inputs are not permitted",
        ("POST", "/v1/messages/batches", {"requests": [{"custom_id": "a", "params": create()}]}),
        {},
    ),
}


def _exchange(emulator: Emulator, request: Any, headers: dict[str, str]) -> tuple[int, Any]:
    if isinstance(request, tuple):
        method, path, body = request
        return ask(emulator, method, path, body, headers)
    return ask(emulator, "POST", "/v1/messages", request, headers)


@pytest.mark.parametrize("name", list(CASES))
def test_the_api_refuses_it_and_accepts_its_neighbour(name: str) -> None:
    refused, headers, status, part, accepted, ok_headers = CASES[name]
    got, envelope = _exchange(Emulator(), refused, headers)
    assert got == status, envelope
    expected_type = "not_found_error" if status == 404 else "invalid_request_error"
    assert envelope["error"]["type"] == expected_type
    assert part in envelope["error"]["message"]
    got, body = _exchange(Emulator(), accepted, ok_headers)
    assert got == 200, body


# Lenient keeps the few checks the emulator always made (a reply needs a model, a
# non-negative max_tokens and unique custom_ids; 2026-10-21's sampling ban is a version rule).
LENIENT_EXCEPTIONS = {
    "model missing",
    "model not a string",
    "model empty",
    "max_tokens negative",
    "sampling under 2026-10-21",
    "batch custom_id repeated",
}


@pytest.mark.parametrize("name", [n for n in CASES if n not in LENIENT_EXCEPTIONS])
def test_lenient_accepts_what_is_well_formed(name: str) -> None:
    refused, headers, _, _, _, _ = CASES[name]
    if name == "GET model typo":
        refused = ("GET", "/v1/models/claude-x", None)  # lenient: any claude-* id
    got, body = _exchange(Emulator(lenient=True), refused, headers)
    assert got == 200, body


def test_lenient_answers_even_odd_tool_schemas() -> None:
    body = create(tools=[{"name": "t", "input_schema": {"type": {}}}], tool_choice={"type": "any"})
    assert ask(Emulator(), "POST", "/v1/messages", body)[0] == 400
    status, message = ask(Emulator(lenient=True), "POST", "/v1/messages", body)
    assert status == 200
    assert message["stop_reason"] == "tool_use"


def test_nan_and_infinity_are_not_json() -> None:
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        raw = (
            b'{"model":"claude-opus-4-6","max_tokens":10,"temperature":%s,"messages":[]}' % literal
        )
        for emulator in (Emulator(), Emulator(lenient=True)):
            status, envelope = ask(emulator, "POST", "/v1/messages", raw=raw)
            assert status == 400
            assert "not valid JSON" in envelope["error"]["message"]


def test_a_number_too_large_for_a_float_is_refused_at_its_field() -> None:
    raw = json.dumps(create(temperature=0.5)).encode().replace(b"0.5", b"1e999")
    status, envelope = ask(Emulator(), "POST", "/v1/messages", raw=raw)
    assert status == 400
    assert envelope["error"]["message"] == "temperature: Input should be a valid number"


def test_aliases_resolve_to_the_dated_model() -> None:
    emulator = Emulator()
    status, model = ask(emulator, "GET", "/v1/models/claude-haiku-4-5")
    assert (status, model["id"]) == (200, "claude-haiku-4-5-20251001")
    assert model["max_tokens"] == 64_000
    status, message = ask(emulator, "POST", "/v1/messages", create(model="claude-haiku-4-5"))
    assert (status, message["model"]) == (200, "claude-haiku-4-5-20251001")
    listed = ask(emulator, "GET", "/v1/models?limit=100")[1]["data"]
    assert [m["id"] for m in listed] == [f.id for f in validation.MODELS]


def test_batch_limits_counts_and_sizes() -> None:
    item = {"custom_id": "r", "params": {}}
    many = {"requests": [item] * (validation.MAX_BATCH_REQUESTS + 1)}
    status, envelope = ask(Emulator(), "POST", "/v1/messages/batches", many)
    assert status == 400
    assert "requests: List should have at most 100000 items" in envelope["error"]["message"]
    # Bodies past 32 MB are for batches only (up to 256 MB): judged from content-length.
    for path, size, expect in (
        ("/v1/messages/batches", 40_000_000, b"HTTP/1.1 100 "),
        ("/v1/messages/batches", 257_000_000, b"HTTP/1.1 413 "),
        ("/v1/messages", 40_000_000, b"HTTP/1.1 413 "),
    ):
        head = (
            f"POST {path} HTTP/1.1\r\nhost: h\r\nx-api-key: k\r\nanthropic-version: 2023-06-01"
            f"\r\nexpect: 100-continue\r\ncontent-length: {size}\r\n\r\n"
        )
        sent = Emulator().connection().receive_data(head.encode(), NOW)
        assert b"".join(a.data for a in sent if isinstance(a, Send)).startswith(expect)


def test_batch_params_are_checked_when_the_batch_runs() -> None:
    emulator = Emulator(batch_seconds=0)
    requests = [
        {"custom_id": "good", "params": create()},
        {"custom_id": "bad", "params": create(temperature=2)},
        {"custom_id": "typo", "params": create(model="claude-nope")},
    ]
    status, batch = ask(emulator, "POST", "/v1/messages/batches", {"requests": requests})
    assert status == 200
    assert batch["request_counts"]["errored"] == 2
    connection = emulator.connection()
    target = f"/v1/messages/batches/{batch['id']}/results"
    head = (
        f"GET {target} HTTP/1.1\r\nhost: h\r\nx-api-key: k\r\nanthropic-version: 2023-06-01\r\n\r\n"
    )
    sent = b"".join(
        a.data for a in connection.receive_data(head.encode(), NOW) if isinstance(a, Send)
    )
    lines = [json.loads(line) for line in sent.split(b"\r\n\r\n", 1)[1].splitlines()]
    results = {line["custom_id"]: line["result"] for line in lines}
    assert results["good"]["type"] == "succeeded"
    bad = results["bad"]["error"]["error"]
    assert bad == {
        "type": "invalid_request_error",
        "message": "temperature: Input should be less than or equal to 1",
    }
    assert results["typo"]["error"]["error"]["type"] == "not_found_error"


# --- the property: mutated valid requests ---------------------------------------------------

VALID: list[dict[str, Any]] = [
    create(),
    create(
        max_tokens=4096,
        system=[{"type": "text", "text": "Be brief."}],
        thinking=THINK,
        tools=[WEATHER],
        tool_choice={"type": "auto"},
        messages=turns("Use get_weather", [CALL], [RESULT, {"type": "text", "text": "go on"}]),
        metadata={"user_id": "u-1"},
        stop_sequences=["END"],
    ),
    create(
        model="claude-sonnet-4-5",
        temperature=0.3,
        messages=turns(
            [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                }
            ],
            "It is a picture",
        ),
        stream=True,
    ),
]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))


SCALARS = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.text(max_size=8)
JSON_VALUES = st.recursive(
    SCALARS | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    """A valid body with 1-3 random mutations; also the top-level keys they touched."""
    body = copy.deepcopy(draw(st.sampled_from(VALID)))
    touched: set[str] = set()
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(body))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        touched.add(str(path[0]))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        key, kind = path[-1], draw(st.sampled_from(["drop", "retype", "nest", "duplicate"]))
        if kind == "drop":
            del parent[key]
        elif kind == "retype":
            parent[key] = draw(JSON_VALUES)
        elif kind == "nest":
            parent[key] = draw(st.sampled_from([[parent[key]], {"x": parent[key]}]))
        elif isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        else:
            parent[f"{key}_copy"] = copy.deepcopy(parent[key])
    return body, touched


NAMED = re.compile(r"^[A-Za-z_][\w-]*(\.[\w-]+)*: .+", re.DOTALL)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_requests_get_a_reply_or_an_envelope_naming_the_field(
    case: tuple[dict[str, Any], set[str]],
) -> None:
    body, touched = case
    emulator = Emulator()
    status, answer = ask(emulator, "POST", "/v1/messages", body)
    if status == 200:
        return  # the mutation left a valid request (a stream has no JSON body)
    assert status in (400, 404), answer
    assert answer["type"] == "error"
    assert answer["error"]["type"] == (
        "not_found_error" if status == 404 else "invalid_request_error"
    )
    message = answer["error"]["message"]
    assert NAMED.match(message), message
    assert any(key.lower() in message.lower() for key in touched), (touched, message)


def test_validation_is_linear_in_the_request() -> None:
    # Counted in JSON values visited, not timed: a 2x body costs about 2x.
    def cost(n: int) -> int:
        body = create(messages=turns(*(["x"] * (2 * n - 1))), model="claude-sonnet-4-5")
        count = 0
        original = validation._check

        def counting(spec: Any, value: Any, path: Any) -> None:
            nonlocal count
            count += 1
            original(spec, value, path)

        validation._check = counting
        try:
            validation.check_create(body, {})
        finally:
            validation._check = original
        return count

    assert cost(2000) / cost(1000) <= 2.2


def test_hostile_bodies_stay_bounded() -> None:
    # Deep nesting is refused before validation; wide arrays validate in one pass.
    deep: Any = "x"
    for _ in range(200):
        deep = {"a": deep}
    status, envelope = ask(Emulator(), "POST", "/v1/messages", create(metadata=deep))
    assert status == 400
    assert "nested deeper" in envelope["error"]["message"]
    wide = create(stop_sequences=["END"] * 200_000)
    assert ask(Emulator(), "POST", "/v1/messages", wide)[0] == 200


# --- the official SDK -----------------------------------------------------------------------

anthropic = pytest.importorskip("anthropic")


def _typed_dicts(hint: Any) -> Iterator[Any]:
    from typing import get_args

    if isinstance(hint, type) and hasattr(hint, "__total__"):
        yield hint
        return
    for arg in get_args(hint):
        yield from _typed_dicts(arg)


def _fields(spec: Any) -> set[str]:
    return set(spec.fields) if isinstance(spec, validation.Obj) else set()


def test_every_field_the_sdk_can_send_is_known() -> None:
    from typing import get_type_hints

    from anthropic.types import message_count_tokens_params, message_create_params
    from anthropic.types.content_block_param import ContentBlockParam

    headers_not_body = {"user_profile_id", "workspace_id"}  # the SDK sends them as headers
    create_keys = set(get_type_hints(message_create_params.MessageCreateParamsStreaming))
    assert create_keys - headers_not_body <= _fields(validation.CREATE)
    count_keys = set(get_type_hints(message_count_tokens_params.MessageCountTokensParams))
    assert count_keys - headers_not_body <= _fields(validation.COUNT_TOKENS)
    for block in _typed_dicts(ContentBlockParam):
        tag = get_type_hints(block, include_extras=True)["type"]
        (name,) = list(_literals(tag))
        variant = validation.BLOCK.variants[name]
        if not variant.open:
            assert set(get_type_hints(block)) <= _fields(variant), name


def _literals(hint: Any) -> Iterator[str]:
    from typing import get_args

    for arg in get_args(hint):
        if isinstance(arg, str):
            yield arg
        else:
            yield from _literals(arg)


def test_every_tool_type_and_beta_the_sdk_names_is_accepted() -> None:
    from typing import get_type_hints

    from anthropic.types.anthropic_beta_param import AnthropicBetaParam
    from anthropic.types.tool_union_param import ToolUnionParam

    assert set(_literals(AnthropicBetaParam)) <= validation.BETAS
    for tool in _typed_dicts(ToolUnionParam):
        hints = get_type_hints(tool, include_extras=True)
        for tag in _literals(hints.get("type", "")) if "type" in hints else ["custom"]:
            validation._variant(validation.TOOL, {"type": tag}, ())  # raises if unknown


def test_every_model_the_sdk_names_is_served() -> None:
    # A client's test must never fail here on a model the real API serves.
    model = pytest.importorskip("anthropic.types.model")
    emulator = Emulator()
    for name in _literals(model.Model):
        status, found = ask(emulator, "GET", f"/v1/models/{name}")
        assert status == 200, name
        status, message = ask(emulator, "POST", "/v1/messages", create(model=name))
        assert (status, message["model"]) == (200, found["id"]), name
    assert ask(emulator, "GET", "/v1/models/claude-typo-4-6")[0] == 404


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    pytest.importorskip("trio")
    from wire.testing import serve

    with serve(seed=3, batch_seconds=0.2) as running:
        yield running


def test_the_sdks_own_calls_all_pass(server: Any) -> None:
    client = anthropic.Anthropic(api_key="sk-test", base_url=server.base_url, max_retries=0)
    # Tools, and the agent loop's second turn with the tool's result.
    first = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=512,
        tools=[WEATHER],
        tool_choice={"type": "any"},
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        metadata={"user_id": "u-1"},
        stop_sequences=["END"],
        messages=[USER],
    )
    call = next(b for b in first.content if b.type == "tool_use")
    second = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=512,
        tools=[WEATHER],
        messages=[
            USER,
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": [{**RESULT, "tool_use_id": call.id}]},
        ],
    )
    assert second.stop_reason == "end_turn"
    # Thinking, replayed with its signature.
    thought = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        messages=[USER],
    )
    assert thought.content[0].type == "thinking"
    again = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[USER, {"role": "assistant", "content": thought.content}, USER],
    )
    assert again.content
    # Images, and count_tokens with the same prompt.
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    prompt = [{"role": "user", "content": [image, {"type": "text", "text": "What is this?"}]}]
    assert client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=prompt).content
    counted = client.messages.count_tokens(
        model="claude-haiku-4-5", messages=prompt, tools=[WEATHER]
    )
    assert counted.input_tokens > 0
    # Batches: created, then every request succeeds.
    batch = client.messages.batches.create(
        requests=[{"custom_id": f"req-{i}", "params": create(max_tokens=50)} for i in range(3)]
    )
    import time

    deadline = time.monotonic() + 10
    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    kinds = [r.result.type for r in client.messages.batches.results(batch.id)]
    assert kinds == ["succeeded"] * 3


def test_the_sdks_typos_are_refused(server: Any) -> None:
    client = anthropic.Anthropic(api_key="sk-test", base_url=server.base_url, max_retries=0)
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="claude-opus-4-6-typo", max_tokens=10, messages=[USER])
    with pytest.raises(anthropic.BadRequestError, match="prefill"):
        client.messages.create(
            model="claude-opus-4-6",
            max_tokens=10,
            messages=[USER, {"role": "assistant", "content": "{"}],
        )


def test_wire_serve_lenient_from_the_command_line() -> None:
    pytest.importorskip("trio")
    process = subprocess.Popen(
        [sys.executable, "-m", "wire", "serve", "--port", "0", "--lenient"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[-1]
        client = anthropic.Anthropic(api_key="sk-test", base_url=url, max_retries=0, timeout=10)
        reply = client.messages.create(
            model="claude-x", max_tokens=10, messages=[USER], extra_body={"future_field": 1}
        )
        assert reply.model == "claude-x"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
