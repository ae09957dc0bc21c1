"""The emulator's logic without sockets: wire's ClientConnection talks to EmulatorConnection."""

from __future__ import annotations

import json
from typing import Any

import pytest

import wire
from wire import requests as build
from wire.http import BodyData, ClientConnection, JSONBody, ResponseComplete, ResponseHead
from wire.testing.emulator import MODELS, Close, Emulator, Send, Sleep

CFG = wire.APIConfig(api_key="sk-test")
HELLO = [{"role": "user", "content": "Tell me about the weather in Paris"}]
NOW = 1_790_000_000.0


def actions_for(emulator: Emulator, request: wire.Request, now: float = NOW) -> list[Any]:
    connection = emulator.connection()
    client = ClientConnection("127.0.0.1:8080")
    return connection.receive_data(client.send_request(request), now)


def call(emulator: Emulator, request: wire.Request, now: float = NOW) -> list[Any]:
    """The client's events for one exchange (EOF delivered when the emulator closes)."""
    connection = emulator.connection()
    client = ClientConnection("127.0.0.1:8080")
    actions = connection.receive_data(client.send_request(request), now)
    events: list[Any] = []
    for action in actions:
        if isinstance(action, Send):
            events += client.receive_data(action.data)
        elif isinstance(action, Close):
            events += client.receive_data(b"")
    return events


def body_of(events: list[Any]) -> Any:
    (value,) = [e for e in events if isinstance(e, JSONBody)]
    return value.value


def error_of(events: list[Any]) -> wire.APIError:
    (error,) = [e.error for e in events if isinstance(e, wire.ErrorResponse)]
    return error


def message(stream: bool = False, **fields: Any) -> wire.Request:
    return build.create_message(
        CFG, model="claude-opus-4-6", max_tokens=200, messages=HELLO, stream=stream, **fields
    )


def with_fault(request: wire.Request, fault: str) -> wire.Request:
    return wire.Request(
        request.method, request.target, (*request.headers, ("x-wire-fault", fault)), request.body
    )


# --- auth and versions ------------------------------------------------------------------------


def test_key_as_x_api_key_or_bearer() -> None:
    emulator = Emulator(api_key="sk-test")
    assert isinstance(body_of(call(emulator, message())), dict)
    bearer = build.create_message(
        wire.APIConfig(auth_token="sk-test"), model="claude-opus-4-6", max_tokens=5, messages=HELLO
    )
    assert isinstance(body_of(call(emulator, bearer)), dict)


def test_wrong_key_gets_the_401_envelope() -> None:
    emulator = Emulator(api_key="sk-right")
    events = call(emulator, message())
    error = error_of(events)
    assert isinstance(error, wire.AuthenticationError)
    assert error.type == "authentication_error"
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert events[0].header("request-id") == error.request_id


def test_versions() -> None:
    emulator = Emulator()
    new = wire.APIConfig(api_key="k", anthropic_version="2026-10-21")
    ok = build.create_message(new, model="claude-opus-4-6", max_tokens=5, messages=HELLO)
    assert isinstance(body_of(call(emulator, ok)), dict)
    refused = build.create_message(
        new, model="claude-opus-4-6", max_tokens=5, messages=HELLO, temperature=0.5
    )
    assert isinstance(error_of(call(emulator, refused)), wire.BadRequestError)
    old = build.create_message(
        CFG, model="claude-opus-4-6", max_tokens=5, messages=HELLO, temperature=0.5
    )
    assert isinstance(body_of(call(emulator, old)), dict)
    bad = wire.APIConfig(api_key="k", anthropic_version="1999-01-01")
    error = error_of(call(emulator, build.get_model(bad, "claude-opus-4-6")))
    assert isinstance(error, wire.BadRequestError)


# --- messages ---------------------------------------------------------------------------------


def test_stream_builds_the_same_message_as_the_non_streamed_reply() -> None:
    plain = body_of(call(Emulator(seed=3), message()))
    events = call(Emulator(seed=3), message(stream=True))
    head = events[0]
    assert head.media_type == "text/event-stream"
    assert head.rate_limits.requests.remaining is not None
    stream_events = [e for e in events if not isinstance(e, ResponseHead | ResponseComplete)]
    accumulator = wire.MessageAccumulator()
    for event in stream_events:
        accumulator.feed(event)
    assert accumulator.stopped
    assert accumulator.message is not None
    streamed = accumulator.message.to_dict()
    assert {**streamed, "id": ""} == {**plain, "id": ""}
    assert any(isinstance(e, wire.Ping) for e in stream_events)


def test_replies_depend_on_seed_and_request() -> None:
    first = body_of(call(Emulator(seed=1), message()))
    again = body_of(call(Emulator(seed=1), message()))
    other = body_of(call(Emulator(seed=2), message()))
    assert first["content"] == again["content"]
    assert first["content"] != other["content"]


def test_rate_limit_headers_count_down() -> None:
    emulator = Emulator()
    heads = [call(emulator, message())[0] for _ in range(3)]
    remaining = [h.rate_limits.requests.remaining for h in heads]
    assert remaining == sorted(remaining, reverse=True)
    assert remaining[0] - remaining[2] == 2


def test_count_tokens_and_validation() -> None:
    emulator = Emulator()
    counted = body_of(
        call(emulator, build.count_tokens(CFG, model="claude-opus-4-6", messages=HELLO))
    )
    assert counted["input_tokens"] >= 1
    unknown = build.create_message(CFG, model="gpt-4", max_tokens=5, messages=HELLO)
    assert isinstance(error_of(call(emulator, unknown)), wire.NotFoundError)


# --- models and pagination ----------------------------------------------------------------------


def test_models_paginate() -> None:
    emulator = Emulator()
    ids: list[str] = []
    after = None
    while True:
        page = body_of(call(emulator, build.list_models(CFG, limit=4, after_id=after)))
        ids += [m["id"] for m in page["data"]]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert ids == [m["id"] for m in MODELS]
    back = body_of(call(emulator, build.list_models(CFG, limit=2, before_id=ids[3])))
    assert [m["id"] for m in back["data"]] == ids[1:3]
    assert body_of(call(emulator, build.get_model(CFG, ids[0]))) == MODELS[0]


# --- batches ------------------------------------------------------------------------------------


def test_batch_lifecycle() -> None:
    emulator = Emulator(batch_seconds=10)
    requests = [
        {
            "custom_id": f"r{i}",
            "params": {"model": "claude-haiku-4-5", "max_tokens": 20, "messages": HELLO},
        }
        for i in range(4)
    ]
    valid = build.create_batch(CFG, requests)
    # The builder refuses a bad item, so one is added by hand: the API takes it and errors it.
    body = json.loads(valid.body)
    body["requests"].append(
        {
            "custom_id": "bad",
            "params": {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": []},
        }
    )
    create = wire.Request(valid.method, valid.target, valid.headers, json.dumps(body).encode())
    batch = body_of(call(emulator, create, now=NOW))
    assert batch["processing_status"] == "in_progress"
    assert batch["results_url"] is None
    assert batch["request_counts"]["processing"] == 5
    midway = body_of(call(emulator, build.get_batch(CFG, batch["id"]), now=NOW + 5))
    assert midway["processing_status"] == "in_progress"
    assert 0 < midway["request_counts"]["processing"] < 5
    not_yet = call(emulator, build.batch_results(CFG, batch["id"]), now=NOW + 5)
    assert isinstance(error_of(not_yet), wire.BadRequestError)
    done = body_of(call(emulator, build.get_batch(CFG, batch["id"]), now=NOW + 11))
    assert done["processing_status"] == "ended"
    assert done["request_counts"] == {
        "processing": 0,
        "succeeded": 4,
        "errored": 1,
        "canceled": 0,
        "expired": 0,
    }
    assert done["results_url"] == (
        f"http://127.0.0.1:8080/v1/messages/batches/{batch['id']}/results"
    )
    events = call(emulator, build.batch_results(CFG, batch["id"]), now=NOW + 11)
    raw = b"".join(e.data for e in events if isinstance(e, BodyData))
    assert raw.endswith(b"\n")
    assert b"\n\n" not in raw
    decoder = wire.JSONLDecoder()
    results = decoder.feed(raw) + decoder.close()
    kinds = {r.custom_id: type(r.result) for r in results}
    assert kinds == {
        "r0": wire.SucceededResult,
        "r1": wire.SucceededResult,
        "r2": wire.SucceededResult,
        "r3": wire.SucceededResult,
        "bad": wire.ErroredResult,
    }
    listed = body_of(call(emulator, build.list_batches(CFG), now=NOW + 11))
    assert listed["data"][0]["id"] == batch["id"]
    deleted = body_of(call(emulator, build.delete_batch(CFG, batch["id"]), now=NOW + 12))
    assert deleted == {"id": batch["id"], "type": "message_batch_deleted"}
    gone = call(emulator, build.get_batch(CFG, batch["id"]), now=NOW + 12)
    assert isinstance(error_of(gone), wire.NotFoundError)


def test_batch_cancel() -> None:
    emulator = Emulator(batch_seconds=10)
    requests = [
        {
            "custom_id": f"r{i}",
            "params": {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": HELLO},
        }
        for i in range(10)
    ]
    batch = body_of(call(emulator, build.create_batch(CFG, requests), now=NOW))
    early_delete = call(emulator, build.delete_batch(CFG, batch["id"]), now=NOW + 1)
    assert isinstance(error_of(early_delete), wire.BadRequestError)
    canceled = body_of(call(emulator, build.cancel_batch(CFG, batch["id"]), now=NOW + 5))
    assert canceled["cancel_initiated_at"] is not None
    counts = canceled["request_counts"]
    assert counts["succeeded"] + counts["canceled"] == 10
    assert counts["canceled"] > 0


# --- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [(429, wire.RateLimitError), (500, wire.InternalServerError), (529, wire.OverloadedError)],
)
def test_status_fault(status: int, cls: type) -> None:
    events = call(Emulator(), with_fault(message(), f"status={status};retry-after=1"))
    error = error_of(events)
    assert type(error) is cls
    assert events[0].header("retry-after") == "1"


def test_times_limits_a_fault_to_the_first_requests() -> None:
    emulator = Emulator()
    request = with_fault(message(), "status=529;times=2")
    outcomes = [
        type(e.error) if isinstance(e, wire.ErrorResponse) else type(e)
        for e in (
            next(x for x in call(emulator, request) if isinstance(x, JSONBody | wire.ErrorResponse))
            for _ in range(3)
        )
    ]
    assert outcomes == [wire.OverloadedError, wire.OverloadedError, JSONBody]


def test_unknown_fault_is_a_400_naming_it() -> None:
    error = error_of(call(Emulator(), with_fault(message(), "explode=1")))
    assert isinstance(error, wire.BadRequestError)
    assert "explode" in error.message


def test_faults_come_after_the_key_check() -> None:
    emulator = Emulator(api_key="right")
    error = error_of(call(emulator, with_fault(message(), "status=529")))
    assert isinstance(error, wire.AuthenticationError)


def test_error_event_mid_stream() -> None:
    events = call(Emulator(), with_fault(message(stream=True), "error-event=overloaded_error"))
    kinds = [type(e) for e in events]
    assert kinds.index(wire.StreamError) > kinds.index(wire.ContentBlockDelta)
    assert wire.MessageStop not in kinds
    error = next(e for e in events if isinstance(e, wire.StreamError))
    assert isinstance(error.to_exception(), wire.OverloadedError)


def test_drop_after_closes_mid_body() -> None:
    actions = actions_for(Emulator(), with_fault(message(stream=True), "drop-after=300"))
    assert isinstance(actions[-1], Close)
    events = call(Emulator(), with_fault(message(stream=True), "drop-after=300"))
    assert isinstance(events[-1], wire.StreamIncomplete)


def test_stall_pauses_mid_stream() -> None:
    actions = actions_for(Emulator(), with_fault(message(stream=True), "stall=2.5"))
    sleeps = [a for a in actions if isinstance(a, Sleep)]
    assert sleeps == [Sleep(2.5)]
    first = actions.index(sleeps[0])
    assert 1 < first < len(actions) - 1


@pytest.mark.parametrize("chunk", ["1", "7", "random", "100000"])
def test_chunking_faults_change_nothing_but_the_pieces(chunk: str) -> None:
    plain = call(Emulator(seed=5), message(stream=True))
    chunked = call(Emulator(seed=5), with_fault(message(stream=True), f"chunk={chunk}"))
    assert chunked[1:] == plain[1:]
    if chunk == "1":
        sends = [
            a
            for a in actions_for(Emulator(seed=5), with_fault(message(stream=True), "chunk=1"))
            if isinstance(a, Send)
        ]
        assert len(sends) > 1000


@pytest.mark.parametrize("stream", [False, True])
def test_gzip_fault(stream: bool) -> None:
    plain = call(Emulator(seed=5), message(stream=stream))
    packed = call(Emulator(seed=5), with_fault(message(stream=stream), "gzip=1;chunk=5"))
    assert packed[0].header("content-encoding") == "gzip"
    assert packed[1:] == plain[1:]


def test_malformed_utf8_becomes_replacement_characters() -> None:
    events = call(Emulator(), with_fault(message(stream=True), "malformed=utf8"))
    texts = [
        e.delta.text
        for e in events
        if isinstance(e, wire.ContentBlockDelta) and isinstance(e.delta, wire.TextDelta)
    ]
    assert any("\ufffd" in t for t in texts)


def test_malformed_no_newline_leaves_the_stream_incomplete() -> None:
    events = call(Emulator(), with_fault(message(stream=True), "malformed=no-newline"))
    assert isinstance(events[-2], wire.StreamIncomplete)


def test_malformed_long_line_breaches_the_line_limit() -> None:
    with pytest.raises(wire.LineTooLongError):
        call(Emulator(), with_fault(message(stream=True), "malformed=long-line"))


def test_faults_apply_to_every_endpoint() -> None:
    error = error_of(call(Emulator(), with_fault(build.list_models(CFG), "status=503")))
    assert isinstance(error, wire.ServiceUnavailableError)


def test_keep_alive_across_requests() -> None:
    emulator = Emulator()
    connection = emulator.connection()
    client = ClientConnection("127.0.0.1:8080")
    for _ in range(3):
        actions = connection.receive_data(client.send_request(build.list_models(CFG)), NOW)
        events = client.receive_data(b"".join(a.data for a in actions if isinstance(a, Send)))
        assert events[-1] == ResponseComplete(reusable=True)
    assert json.loads(json.dumps(body_of(events)))["data"]


def test_enforced_limits_answer_429_with_retry_after() -> None:
    emulator = Emulator(requests_per_minute=2, enforce_limits=True)
    outcomes = [call(emulator, message(), now=NOW + i) for i in range(3)]
    assert isinstance(body_of(outcomes[0]), dict)
    assert isinstance(body_of(outcomes[1]), dict)
    error = error_of(outcomes[2])
    assert isinstance(error, wire.RateLimitError)
    wait = int(outcomes[2][0].header("retry-after"))
    assert 1 <= wait <= 60
    later = call(emulator, message(), now=(NOW // 60 + 1) * 60 + 1)
    assert isinstance(body_of(later), dict)


def test_oversized_request_body_is_a_413_and_close() -> None:
    connection = Emulator().connection()
    head = (
        b"POST /v1/messages HTTP/1.1\r\nhost: h\r\nx-api-key: k\r\n"
        b"anthropic-version: 2023-06-01\r\ncontent-length: 40000000\r\n\r\n"
    )
    actions = connection.receive_data(head, NOW)
    chunk = b"x" * 1_000_000
    for _ in range(33):
        actions += connection.receive_data(chunk, NOW)
        if actions:
            break
    assert isinstance(actions[-1], Close)
    client_bytes = b"".join(a.data for a in actions if isinstance(a, Send))
    assert client_bytes.startswith(b"HTTP/1.1 413 ")
    assert b"request_too_large" in client_bytes


def test_garbage_request_is_a_400_and_close() -> None:
    actions = Emulator().connection().receive_data(b"NOT HTTP AT ALL\r\n\r\n", NOW)
    assert isinstance(actions[-1], Close)
    assert actions[0].data.startswith(b"HTTP/1.1 400 ")
