"""The emulator's logic without sockets: wire's ClientConnection talks to EmulatorConnection."""

from __future__ import annotations

import gzip
import itertools
import json
import re
from typing import Any

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wire
from wire import builders as build
from wire._connection import BodyData, ClientConnection, JSONBody, ResponseComplete, ResponseHead
from wire.testing.emulator import (
    ACTIONS_PER_STEP,
    MODELS,
    Action,
    Close,
    Emulator,
    EmulatorConnection,
    Send,
    Sleep,
)

CFG = wire.APIConfig(api_key="sk-test")
HELLO = [{"role": "user", "content": "Tell me about the weather in Paris"}]
NOW = 1_790_000_000.0


def drain(connection: EmulatorConnection, data: bytes, now: float = NOW) -> list[Action]:
    """Every action for `data`: the first batch, then the rest while a response is pending."""
    actions = connection.receive_data(data, now)
    while connection.pending:
        batch = connection.next_actions(now)
        assert 0 < len(batch) <= ACTIONS_PER_STEP
        actions += batch
    return actions


def sent_bytes(actions: list[Action]) -> bytes:
    """What the `Send` actions among `actions` write."""
    return b"".join(action.data for action in actions if isinstance(action, Send))


def actions_for(emulator: Emulator, request: wire.Request, now: float = NOW) -> list[Any]:
    connection = emulator.connection()
    client = ClientConnection("127.0.0.1:8080")
    return drain(connection, client.send_request(request), now)


def call(emulator: Emulator, request: wire.Request, now: float = NOW) -> list[Any]:
    """The client's events for one exchange (EOF delivered when the emulator closes)."""
    connection = emulator.connection()
    client = ClientConnection("127.0.0.1:8080")
    actions = drain(connection, client.send_request(request), now)
    assert emulator.failures == []
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
    # As the API: nothing leaves `processing` until the whole batch has ended.
    assert midway["request_counts"] == {
        "processing": 5,
        "succeeded": 0,
        "errored": 0,
        "canceled": 0,
        "expired": 0,
    }
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
        actions = drain(connection, client.send_request(build.list_models(CFG)))
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
    assert isinstance(actions[0], Send)
    assert actions[0].data.startswith(b"HTTP/1.1 400 ")


# --- hostile requests: an envelope every time, and the emulator keeps serving ------------------

HEAD_LINES = b"host: h\r\nx-api-key: k\r\nanthropic-version: 2023-06-01\r\n"


def raw(method: bytes, target: bytes, body: bytes = b"", extra: bytes = b"") -> bytes:
    length = b"content-length: %d\r\n" % len(body)
    return method + b" " + target + b" HTTP/1.1\r\n" + HEAD_LINES + extra + length + b"\r\n" + body


def create_body(**fields: Any) -> bytes:
    body = {"model": "claude-opus-4-6", "max_tokens": 30, "messages": HELLO, **fields}
    return json.dumps(body).encode()


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


# Each trigger of issue 12 item 1, and the status and error.type it must get.
TRIGGERS = {
    "head": (raw(b"HEAD", b"/v1/models"), 200, None),
    "status=204": (raw(b"GET", b"/v1/models", extra=b"x-wire-fault: status=204\r\n"), 400, None),
    "status=304": (raw(b"GET", b"/v1/models", extra=b"x-wire-fault: status=304\r\n"), 400, None),
    "status=100": (raw(b"GET", b"/v1/models", extra=b"x-wire-fault: status=100\r\n"), 400, None),
    "connect": (raw(b"CONNECT", b"h:443", extra=b"x-wire-fault: status=200\r\n"), 400, None),
    "bad target": (raw(b"GET", b"http://[/v1/models"), 400, None),
    "deep body": (raw(b"POST", b"/v1/messages", b"[" * 100_000), 400, None),
    "deep content": (
        raw(
            b"POST",
            b"/v1/messages",
            create_body(messages=[{"role": "user", "content": nested(600)}]),
        ),
        400,
        None,
    ),
    "schema type {}": (
        raw(
            b"POST",
            b"/v1/messages",
            create_body(
                tools=[{"name": "t", "input_schema": {"type": {}}}], tool_choice={"type": "any"}
            ),
        ),
        400,  # as the API: input_schema.type must be "object" (lenient: a reply, tested below)
        "invalid_request_error",
    ),
    "stall=nan": (raw(b"GET", b"/v1/models", extra=b"x-wire-fault: stall=nan\r\n"), 400, None),
    "wrong method": (raw(b"DELETE", b"/v1/messages"), 405, "invalid_request_error"),
    "unknown path": (raw(b"GET", b"/v2/nothing"), 404, "not_found_error"),
}


def responses(data: bytes, method: bytes = b"GET") -> list[tuple[int, dict[str, str], bytes]]:
    """Parse what the emulator wrote, as a strict HTTP client would; (status, headers, body)."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method=method, target="/", headers=[("host", "h")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    out: list[tuple[int, dict[str, str], bytes]] = []
    while True:
        event = client.next_event()
        if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
            return out
        if isinstance(event, h11.Response):
            headers = {k.decode(): v.decode("latin-1") for k, v in event.headers}
            out.append((event.status_code, headers, b""))
        elif isinstance(event, h11.Data):
            status, headers, body = out[-1]
            out[-1] = (status, headers, body + bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            return out


def check_answer(data: bytes, method: bytes = b"GET") -> tuple[int, dict[str, Any] | None]:
    """One well-formed final response; an error carries the API's envelope. (status, envelope)"""
    ((status, headers, body),) = responses(data, method)
    assert headers["request-id"].startswith("req_")
    if status < 400:
        return status, None
    assert 400 <= status < 600
    if method == b"HEAD":
        assert body == b""
        return status, None
    envelope = json.loads(gzip.decompress(body) if "content-encoding" in headers else body)
    assert envelope["type"] == "error"
    assert envelope["request_id"] == headers["request-id"]
    assert isinstance(envelope["error"]["type"], str)
    assert envelope["error"]["message"]
    return status, envelope


@pytest.mark.parametrize("name", list(TRIGGERS))
def test_each_trigger_gets_an_answer_and_the_emulator_serves_on(name: str) -> None:
    data, status, error_type = TRIGGERS[name]
    emulator = Emulator()
    actions = drain(emulator.connection(), data)
    assert emulator.failures == []
    sent = b"".join(a.data for a in actions if isinstance(a, Send))
    got, envelope = check_answer(sent, data.split(b" ")[0])
    assert got == status
    if error_type is not None:
        assert envelope is not None
        assert envelope["error"]["type"] == error_type
    assert isinstance(body_of(call(emulator, message())), dict)


def test_head_is_get_without_a_body() -> None:
    emulator = Emulator()
    sent = sent_bytes(drain(emulator.connection(), raw(b"HEAD", b"/v1/models")))
    ((status, headers, body),) = responses(sent, b"HEAD")
    listed = body_of(call(emulator, build.list_models(CFG)))
    assert (status, body) == (200, b"")
    assert int(headers["content-length"]) == len(json.dumps(listed, separators=(",", ":")))


def test_wrong_method_is_a_405_with_allow() -> None:
    sent = sent_bytes(drain(Emulator().connection(), raw(b"PUT", b"/v1/models")))
    ((status, headers, _),) = responses(sent)
    assert status == 405
    assert headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "fault",
    [
        "status=204",
        "status=101",
        "status=200",
        "status=600",
        "stall=nan",
        "stall=inf",
        "stall=-1",
        "drop-after=nan",
        "chunk=0",
        "times=-1",
        "status=1e3",
        "reply=short",
    ],
)
def test_bad_fault_values_are_a_400_naming_the_fault(fault: str) -> None:
    error = error_of(call(Emulator(), with_fault(message(), fault)))
    assert isinstance(error, wire.BadRequestError)
    assert fault.split("=")[0] in str(error)


def test_an_internal_failure_is_a_500_kept_in_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    emulator = Emulator()

    def broken(request: Any, now: float) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(emulator, "_route", broken)
    actions = drain(emulator.connection(), raw(b"GET", b"/v1/models"))
    status, envelope = check_answer(b"".join(a.data for a in actions if isinstance(a, Send)))
    assert isinstance(actions[-1], Close)
    assert status == 500
    assert envelope is not None
    assert envelope["error"]["type"] == "api_error"
    assert [type(e) for e in emulator.failures] == [ZeroDivisionError]


def test_a_failure_after_the_head_closes_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    emulator = Emulator()
    connection = emulator.connection()
    real = connection._render

    def render(*args: Any) -> Any:
        yield from itertools.islice(real(*args), 2)  # the head and some body, then a bug
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(connection, "_render", render)
    actions = drain(connection, raw(b"POST", b"/v1/messages", create_body(stream=True)))
    assert isinstance(actions[0], Send)
    assert actions[0].data.startswith(b"HTTP/1.1 200 ")
    assert isinstance(actions[-1], Close)
    assert b"500" not in b"".join(a.data for a in actions[1:] if isinstance(a, Send))
    assert len(emulator.failures) == 1


# Hostile pieces: methods, targets, header values, bodies (deep, not JSON, odd fields), faults.
_FAULT_NAMES = [
    "status",
    "retry-after",
    "error-event",
    "drop-after",
    "stall",
    "chunk",
    "gzip",
    "malformed",
    "times",
    "nope",
]
_FAULT_VALUES = [
    "0",
    "1",
    "-1",
    "nan",
    "inf",
    "1e9",
    "204",
    "304",
    "100",
    "101",
    "200",
    "429",
    "529",
    "599",
    "600",
    "random",
    "utf8",
    "no-newline",
    "",
    "x",
    "2.5",
]
_hostile_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def hostile_requests(draw: st.DrawFn) -> bytes:
    method = draw(
        st.sampled_from(
            [
                b"GET",
                b"POST",
                b"HEAD",
                b"DELETE",
                b"PUT",
                b"CONNECT",
                b"OPTIONS",
                b"TRACE",
                b"PATCH",
                b"BREW",
            ]
        )
    )
    target = draw(
        st.sampled_from(
            [
                b"/v1/messages",
                b"/v1/messages/count_tokens",
                b"/v1/models",
                b"/v1/models/claude-x",
                b"/v1/messages/batches",
                b"/v1/messages/batches/msgbatch_x/results",
                b"*",
                b"h:443",
                b"http://[/v1/models",
                b"http://h/v1/models?limit=0",
                b"/v1/models?limit=%ff&after_id=",
                b"/%00/..",
                b"/",
            ]
        )
    )
    faults = draw(
        st.lists(
            st.tuples(st.sampled_from(_FAULT_NAMES), st.sampled_from(_FAULT_VALUES)), max_size=3
        )
    )
    depth = draw(st.sampled_from([0, 1, 50, 129, 700, 5000]))
    body_kind = draw(st.sampled_from(["json", "fields", "tools", "deep", "junk", "empty"]))
    if body_kind == "json":
        body = json.dumps(draw(_hostile_json)).encode()
    elif body_kind == "fields":  # a create body with hostile values in some fields
        fields = draw(
            st.dictionaries(
                st.sampled_from(
                    [
                        "messages",
                        "tools",
                        "tool_choice",
                        "thinking",
                        "stop_sequences",
                        "max_tokens",
                        "model",
                        "stream",
                        "system",
                    ]
                ),
                _hostile_json,
                max_size=4,
            )
        )
        body = create_body(**fields)
    elif body_kind == "tools":  # hostile schemas, under every tool_choice
        schema = draw(
            st.dictionaries(
                st.sampled_from(
                    [
                        "type",
                        "properties",
                        "items",
                        "enum",
                        "anyOf",
                        "minimum",
                        "maximum",
                        "required",
                        "const",
                    ]
                ),
                _hostile_json,
                max_size=3,
            )
        )
        choice = draw(st.sampled_from(["any", "auto", "tool", "none"]))
        body = create_body(
            tools=[{"name": "t", "input_schema": schema}],
            tool_choice={"type": choice, "name": "t"},
            stream=draw(st.booleans()),
        )
    elif body_kind == "deep":
        content = b"[" * depth + b'"deep"' + b"]" * depth  # built as bytes: json.dumps recurses
        body = create_body(messages="@").replace(
            b'"@"', b'[{"role":"user","content":%s}]' % content
        )
    elif body_kind == "junk":
        body = draw(
            st.sampled_from([b"[" * 100_000, b"{" * 1000, b"\xff\xfe", b"nul\x00l", b"[1,]"])
        )
    else:
        body = b""
    extra = b""
    if faults:
        extra += b"x-wire-fault: " + ";".join(f"{n}={v}" for n, v in faults).encode() + b"\r\n"
    if draw(st.booleans()):
        extra += b"expect: 100-continue\r\n"
    return raw(method, target, body, extra)


@settings(max_examples=60, deadline=None)
@given(hostile_requests())
def test_hostile_requests_always_get_a_well_formed_answer(data: bytes) -> None:
    emulator = Emulator(batch_seconds=0)
    connection = emulator.connection()
    actions = drain(connection, data)
    sent = b"".join(a.data for a in actions if isinstance(a, Send))
    sent = re.sub(rb"^HTTP/1.1 100 Continue\r\n\r\n", b"", sent)
    method = data.split(b" ")[0]
    if sent.startswith(b"HTTP/1.1 200 ") and b"text/event-stream" in sent.split(b"\r\n\r\n")[0]:
        assert emulator.failures == []
        return  # a stream, perhaps cut or malformed on purpose: its framing is checked elsewhere
    assert emulator.failures == []
    if b"drop-after" not in data:
        check_answer(sent, method if method in (b"HEAD", b"CONNECT") else b"GET")
    assert isinstance(body_of(call(emulator, message())), dict)  # and it serves on


# --- Expect: 100-continue ----------------------------------------------------------------------


def test_expect_100_continue_is_answered_before_the_body() -> None:
    connection = Emulator().connection()
    body = create_body()
    data = raw(b"POST", b"/v1/messages", body, b"expect: 100-continue\r\n")
    head, _ = data.split(b"\r\n\r\n", 1)
    first = connection.receive_data(head + b"\r\n\r\n", NOW)
    assert [a.data for a in first if isinstance(a, Send)] == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    assert len(first) == 1
    sent = b"".join(a.data for a in drain(connection, body) if isinstance(a, Send))
    assert sent.startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(("key", "length", "status"), [(b"", 10, 401), (b"k", 40_000_000, 413)])
def test_expect_100_continue_gets_a_refusal_at_once(key: bytes, length: int, status: int) -> None:
    connection = Emulator().connection()
    head = (
        b"POST /v1/messages HTTP/1.1\r\nhost: h\r\nx-api-key: " + key + b"\r\n"
        b"anthropic-version: 2023-06-01\r\nexpect: 100-continue\r\n"
        b"content-length: %d\r\n\r\n" % length
    )
    actions = drain(connection, head)  # no body sent: the answer must not wait for it
    assert isinstance(actions[-1], Close)
    sent = b"".join(a.data for a in actions if isinstance(a, Send))
    assert sent.startswith(b"HTTP/1.1 %d " % status)
    assert b"100 Continue" not in sent


# --- lazy responses ------------------------------------------------------------------------------


def test_chunk_1_long_line_is_produced_in_bounded_batches() -> None:
    connection = Emulator().connection()
    request = raw(
        b"POST",
        b"/v1/messages",
        create_body(stream=True),
        b"x-wire-fault: malformed=long-line;chunk=1\r\n",
    )
    actions = connection.receive_data(request, NOW)
    sent = 0
    for _ in range(2000):  # the first 128,000 actions of 17.8 million, never all at once
        assert len(actions) <= ACTIONS_PER_STEP
        assert all(len(a.data) <= 16 for a in actions[1:] if isinstance(a, Send))  # 1 byte, framed
        sent += len(actions)
        assert connection.pending
        actions = connection.next_actions(NOW)
    assert sent > 100_000


def test_long_line_goes_out_in_slices() -> None:
    emulator = Emulator()
    request = raw(
        b"POST", b"/v1/messages", create_body(stream=True), b"x-wire-fault: malformed=long-line\r\n"
    )
    actions = drain(emulator.connection(), request)
    sizes = [len(a.data) for a in actions if isinstance(a, Send)]
    assert max(sizes) <= 64 * 1024 + 16  # a slice and its chunk framing
    assert sum(sizes) > 17 * 1024 * 1024


# --- batches count as the API does ---------------------------------------------------------------


def test_batch_counts_stay_in_processing_until_the_batch_ends() -> None:
    emulator = Emulator(batch_seconds=10)
    bad = {
        "custom_id": "bad",
        "params": {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": []},
    }
    ok = {
        "custom_id": "ok",
        "params": {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": HELLO},
    }
    valid = build.create_batch(CFG, [ok])
    create = wire.Request(
        valid.method, valid.target, valid.headers, json.dumps({"requests": [bad, ok]}).encode()
    )
    batch = body_of(call(emulator, create, now=NOW))
    zero = {"succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    for later in (0, 5, 9.9):
        seen = body_of(call(emulator, build.get_batch(CFG, batch["id"]), now=NOW + later))
        assert seen["processing_status"] == "in_progress"
        assert seen["request_counts"] == {"processing": 2, **zero}
    done = body_of(call(emulator, build.get_batch(CFG, batch["id"]), now=NOW + 10))
    assert done["request_counts"] == {**zero, "processing": 0, "succeeded": 1, "errored": 1}


# --- the long reply (reply=long) ---------------------------------------------------------------


def long_message(max_tokens: int, stream: bool = False, fault: str = "reply=long") -> wire.Request:
    request = build.create_message(
        CFG, model="claude-opus-4-6", max_tokens=max_tokens, messages=HELLO, stream=stream
    )
    return with_fault(request, fault)


def streamed_message(events: list[Any]) -> dict[str, Any]:
    accumulator = wire.MessageAccumulator()
    for event in events:
        if not isinstance(event, ResponseHead | ResponseComplete):
            accumulator.feed(event)
    assert accumulator.stopped
    assert accumulator.message is not None
    return accumulator.message.to_dict()


@pytest.mark.parametrize("max_tokens", [1, 19, 20, 2000])
def test_reply_long_runs_to_max_tokens(max_tokens: int) -> None:
    plain = body_of(call(Emulator(seed=4), long_message(max_tokens)))
    assert plain["stop_reason"] == "max_tokens"
    assert plain["usage"]["output_tokens"] == max_tokens
    (block,) = plain["content"]
    assert len(block["text"]) >= max_tokens
    events = call(Emulator(seed=4), long_message(max_tokens, stream=True))
    deltas = [e for e in events if isinstance(e, wire.ContentBlockDelta)]
    assert len(deltas) == max_tokens
    assert {**streamed_message(events), "id": ""} == {**plain, "id": ""}
    left = 16_000 - max_tokens  # reported to the nearest thousand, as the API does
    assert events[0].rate_limits.output_tokens.remaining == (left + 500) // 1000 * 1000


def test_reply_long_is_far_longer_than_the_default_reply() -> None:
    request = build.create_message(CFG, model="claude-opus-4-6", max_tokens=2000, messages=HELLO)
    default = body_of(call(Emulator(), request))
    long = body_of(call(Emulator(), long_message(2000)))
    assert default["stop_reason"] == "end_turn"
    assert len(long["content"][0]["text"]) > 10 * len(default["content"][0]["text"])


def test_reply_long_keeps_the_other_rules() -> None:
    # max_tokens=0 pre-warms as always; a non-streamed reply is bounded; times applies.
    one = long_message(1)
    zero = wire.Request(
        one.method, one.target, one.headers, one.body.replace(b'"max_tokens":1', b'"max_tokens":0')
    )
    empty = body_of(call(Emulator(), zero))
    assert empty["content"] == []
    assert empty["usage"]["output_tokens"] == 0
    error = error_of(call(Emulator(), long_message(128_001)))
    assert isinstance(error, wire.BadRequestError)
    assert "reply=long" in str(error)
    emulator = Emulator()
    once = long_message(300, fault="reply=long;times=1")
    assert body_of(call(emulator, once))["stop_reason"] == "max_tokens"
    assert body_of(call(emulator, once))["stop_reason"] == "end_turn"


@pytest.mark.parametrize("fault", ["chunk=7", "chunk=random;gzip=1", "stall=0.5"])
def test_reply_long_with_faults_that_keep_the_message(fault: str) -> None:
    plain = call(Emulator(seed=2), long_message(500, stream=True))
    faulted = call(Emulator(seed=2), long_message(500, stream=True, fault=f"reply=long;{fault}"))
    assert faulted[1:] == plain[1:]


def test_reply_long_with_faults_that_break_the_stream() -> None:
    def kinds(fault: str) -> list[type]:
        events = call(Emulator(), long_message(600, stream=True, fault=f"reply=long;{fault}"))
        return [type(e) for e in events]

    broken = kinds("error-event=overloaded_error")
    assert wire.StreamError in broken
    assert 150 < broken.count(wire.ContentBlockDelta) < 300  # cut a third of the way in
    assert wire.StreamIncomplete in kinds("drop-after=5000")
    assert wire.StreamIncomplete in kinds("malformed=no-newline")
    with pytest.raises(wire.LineTooLongError):
        kinds("malformed=long-line")
    actions = actions_for(Emulator(), long_message(600, stream=True, fault="reply=long;stall=1"))
    at = actions.index(Sleep(1.0))
    assert 0.4 < at / len(actions) < 0.6  # half-way through


def test_reply_long_streams_any_length_in_bounded_batches() -> None:
    import tracemalloc

    connection = Emulator().connection()
    client = ClientConnection("127.0.0.1:8080")
    request = long_message(10**9, stream=True)
    tracemalloc.start()
    try:
        actions = connection.receive_data(client.send_request(request), NOW)
        deltas = 0
        for _ in range(300):  # ~19,000 events of a billion, never all at once
            assert len(actions) <= ACTIONS_PER_STEP
            for action in actions:
                assert isinstance(action, Send)
                deltas += sum(
                    isinstance(e, wire.ContentBlockDelta) for e in client.receive_data(action.data)
                )
            assert connection.pending
            actions = connection.next_actions(NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert deltas > 15_000
    assert peak < 4 * 1024 * 1024


@pytest.mark.parametrize("fault", ["reply=long", "reply=long;chunk=3"])
def test_no_empty_batch_and_pipelined_requests_are_answered(fault: str) -> None:
    # Responses end at every offset within a batch of ACTIONS_PER_STEP actions: `pending`
    # turns false with the last action, yet a request already buffered is still answered.
    extra = f"x-wire-fault: {fault}\r\n".encode()
    for max_tokens in range(1, 2 * ACTIONS_PER_STEP + 2):
        body = create_body(stream=True, max_tokens=max_tokens)
        stream = raw(b"POST", b"/v1/messages", body, extra)
        connection = Emulator().connection()
        actions = drain(connection, stream + raw(b"GET", b"/v1/models"))
        sent = b"".join(a.data for a in actions if isinstance(a, Send))
        assert sent.count(b"HTTP/1.1 200 OK\r\n") == 2
        assert sent.endswith(b"}")  # the models page, whole
        actions = drain(connection, stream)  # and alone, on the same connection
        assert not connection.pending
        sent = b"".join(a.data for a in actions if isinstance(a, Send))
        assert sent.endswith(b"\r\n0\r\n\r\n")  # the last chunk: the stream is whole
