"""Every endpoint end to end without I/O: builder -> ClientConnection -> an h11 server
peer that checks the request and answers as PROTOCOL.md shows -> typed result."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import h11
import pytest

import wire
from tests.link import Link
from wire import builders as build
from wire._connection import BodyData, JSONBody, ResponseComplete, ResponseHead

CFG = wire.APIConfig(api_key="sk-secret-123")
HELLO = [{"role": "user", "content": "hello"}]
SAMPLE = (resources.files("wire") / "samples" / "tool_use.sse").read_bytes()

MESSAGE = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-opus-4-6",
    "content": [{"type": "text", "text": "Hello!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 12,
        "output_tokens": 6,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "service_tier": "standard",
    },
}
MODEL = {
    "type": "model",
    "id": "claude-opus-4-6",
    "display_name": "Claude Opus 4.6",
    "created_at": "2026-02-04T00:00:00Z",
}
BATCH = {
    "id": "msgbatch_01",
    "type": "message_batch",
    "processing_status": "in_progress",
    "request_counts": {"processing": 2, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
    "created_at": "2026-08-20T18:37:24.100435Z",
    "expires_at": "2026-08-21T18:37:24.100435Z",
    "ended_at": None,
    "cancel_initiated_at": None,
    "archived_at": None,
    "results_url": None,
}
RESULTS = (
    json.dumps({"custom_id": "req-1", "result": {"type": "succeeded", "message": MESSAGE}})
    + "\n"
    + json.dumps({"custom_id": "req-3", "result": {"type": "canceled"}})
    + "\n"
).encode()


def page(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "data": items,
        "has_more": False,
        "first_id": items[0]["id"],
        "last_id": items[-1]["id"],
    }


def roundtrip(
    request: wire.Request, status: int, headers: list[tuple[str, str]], body: bytes
) -> tuple[h11.Request, bytes, list[Any]]:
    """Send `request` through a ClientConnection to an h11 server; answer; return what each saw."""
    link = Link("api.anthropic.com")
    seen, sent = link.send(request)
    raw = link.respond(
        status,
        [*headers, ("request-id", "req_011")],
        body,
        chunked=True,
        pieces=max(1, -(-len(body) // 1000)),
    )
    events = link.deliver(raw, [raw[i : i + 777] for i in range(0, len(raw), 777)])
    assert isinstance(events[0], ResponseHead)
    assert events[0].request_id == "req_011"
    assert isinstance(events[-1], ResponseComplete)
    return seen, sent, events[1:-1]


def json_result(events: list[Any]) -> Any:
    (body,) = events
    assert isinstance(body, JSONBody)
    return body.value


JSON = [("content-type", "application/json")]

CASES: list[tuple[str, Callable[[], wire.Request], str, str, dict[str, Any], Callable[[Any], Any]]]
CASES = [
    (
        "create_message",
        lambda: build.create_message(CFG, model="claude-opus-4-6", max_tokens=10, messages=HELLO),
        "POST",
        "/v1/messages",
        MESSAGE,
        wire.Message.from_dict,
    ),
    (
        "count_tokens",
        lambda: build.count_tokens(CFG, model="claude-opus-4-6", messages=HELLO),
        "POST",
        "/v1/messages/count_tokens",
        {"input_tokens": 2095},
        lambda v: v["input_tokens"],
    ),
    (
        "list_models",
        lambda: build.list_models(CFG, limit=2),
        "GET",
        "/v1/models?limit=2",
        page([MODEL]),
        lambda v: wire.Page.from_dict(v, wire.Model.from_dict),
    ),
    (
        "get_model",
        lambda: build.get_model(CFG, "claude-opus-4-6"),
        "GET",
        "/v1/models/claude-opus-4-6",
        MODEL,
        wire.Model.from_dict,
    ),
    (
        "create_batch",
        lambda: build.create_batch(
            CFG,
            [
                {
                    "custom_id": "req-1",
                    "params": {"model": "claude-opus-4-6", "max_tokens": 10, "messages": HELLO},
                }
            ],
        ),
        "POST",
        "/v1/messages/batches",
        BATCH,
        wire.MessageBatch.from_dict,
    ),
    (
        "get_batch",
        lambda: build.get_batch(CFG, "msgbatch_01"),
        "GET",
        "/v1/messages/batches/msgbatch_01",
        BATCH,
        wire.MessageBatch.from_dict,
    ),
    (
        "list_batches",
        lambda: build.list_batches(CFG, after_id="msgbatch_00"),
        "GET",
        "/v1/messages/batches?after_id=msgbatch_00",
        page([BATCH]),
        lambda v: wire.Page.from_dict(v, wire.MessageBatch.from_dict),
    ),
    (
        "cancel_batch",
        lambda: build.cancel_batch(CFG, "msgbatch_01"),
        "POST",
        "/v1/messages/batches/msgbatch_01/cancel",
        {**BATCH, "processing_status": "canceling"},
        wire.MessageBatch.from_dict,
    ),
    (
        "delete_batch",
        lambda: build.delete_batch(CFG, "msgbatch_01"),
        "DELETE",
        "/v1/messages/batches/msgbatch_01",
        {"id": "msgbatch_01", "type": "message_batch_deleted"},
        wire.DeletedMessageBatch.from_dict,
    ),
]


@pytest.mark.parametrize(
    ("name", "make", "method", "target", "answer", "parse"), CASES, ids=[c[0] for c in CASES]
)
def test_json_endpoints(
    name: str,
    make: Callable[[], wire.Request],
    method: str,
    target: str,
    answer: dict[str, Any],
    parse: Callable[[Any], Any],
) -> None:
    seen, sent, events = roundtrip(make(), 200, JSON, json.dumps(answer).encode())
    assert seen.method.decode() == method
    assert seen.target.decode() == target
    headers = {k.decode(): v.decode() for k, v in seen.headers}
    assert headers["x-api-key"] == "sk-secret-123"
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["host"] == "api.anthropic.com"
    if method == "POST" and name != "cancel_batch":
        assert json.loads(sent)
    else:
        assert sent == b""
    value = json_result(events)
    assert value == answer
    typed = parse(value)
    if hasattr(typed, "to_dict"):
        assert typed.to_dict() == answer


def test_streaming_create_message() -> None:
    request = build.create_message(
        CFG, model="claude-opus-4-6", max_tokens=10, messages=HELLO, stream=True
    )
    _, sent, events = roundtrip(request, 200, [("content-type", "text/event-stream")], SAMPLE)
    assert json.loads(sent)["stream"] is True
    decoder = wire.MessageStreamDecoder()
    expected = decoder.feed(SAMPLE)
    assert events == expected


def test_gzip_json_endpoint() -> None:
    body = gzip.compress(json.dumps(MESSAGE).encode())
    _, _, events = roundtrip(
        build.create_message(CFG, model="m", max_tokens=1, messages=HELLO),
        200,
        [*JSON, ("content-encoding", "gzip")],
        body,
    )
    assert wire.Message.from_dict(json_result(events)).to_dict() == MESSAGE


def test_batch_results_stream_through_the_jsonl_decoder() -> None:
    seen, _, events = roundtrip(
        build.batch_results(CFG, "msgbatch_01"),
        200,
        [("content-type", "application/binary")],
        RESULTS,
    )
    assert seen.target == b"/v1/messages/batches/msgbatch_01/results"
    decoder = wire.JSONLDecoder()
    results = [r for e in events if isinstance(e, BodyData) for r in decoder.feed(e.data)]
    results += decoder.close()
    assert [r.custom_id for r in results] == ["req-1", "req-3"]
    assert isinstance(results[0].result, wire.SucceededResult)
    assert results[0].result.message.to_dict() == MESSAGE
    assert isinstance(results[1].result, wire.CanceledResult)


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (400, "invalid_request_error", wire.BadRequestError),
        (401, "authentication_error", wire.AuthenticationError),
        (402, "billing_error", wire.PaymentRequiredError),
        (403, "permission_error", wire.PermissionDeniedError),
        (404, "not_found_error", wire.NotFoundError),
        (408, None, wire.RequestTimeoutError),
        (409, "conflict_error", wire.ConflictError),
        (412, None, wire.PreconditionFailedError),
        (413, "request_too_large", wire.RequestTooLargeError),
        (422, None, wire.UnprocessableEntityError),
        (429, "rate_limit_error", wire.RateLimitError),
        (431, None, wire.RequestHeaderFieldsTooLargeError),
        (499, None, wire.ClientClosedRequestError),
        (500, "api_error", wire.InternalServerError),
        (501, None, wire.HTTPNotImplementedError),
        (503, None, wire.ServiceUnavailableError),
        (504, "timeout_error", wire.GatewayTimeoutError),
        (529, "overloaded_error", wire.OverloadedError),
    ],
)
def test_every_error_status(status: int, error_type: str | None, cls: type) -> None:
    envelope = {
        "type": "error",
        "error": {"type": error_type or "api_error", "message": "m"},
        "request_id": "req_body",
    }
    _, _, events = roundtrip(build.get_model(CFG, "x"), status, JSON, json.dumps(envelope).encode())
    (response,) = events
    assert isinstance(response, wire.ErrorResponse)
    error = response.error
    assert type(error) is cls
    assert error.status == status
    assert error.request_id == "req_011"
    assert error.retryable == (status in (408, 409, 429) or status >= 500)
