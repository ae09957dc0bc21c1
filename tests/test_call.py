"""The sans-IO call loop on a fake clock, no sockets: a scripted network answers its actions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wire
from wire._call import (
    Call,
    Close,
    Connect,
    Deliver,
    Raise,
    Receive,
    Return,
    Send,
    Session,
    Sleep,
    StartTLS,
)
from wire._proxy import ProxyError

HANG = object()  # a connect that never completes
USER = [{"role": "user", "content": "hi"}]


@dataclass(eq=False)
class Conn:
    """One fake connection: the peer's bytes, each after a delay; b"" is end of file.

    When the script runs out the peer says nothing more (a receive waits for its deadline).
    `fail_send` makes sending fail; `fail_recv` makes the next receive fail.
    """

    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    fail_send: bool = False
    fail_recv: bool = False
    sent: list[bytes] = field(default_factory=list)
    closed: bool = False
    tls: str | None = None


@dataclass
class Run:
    outcome: Any
    actions: list[Any]
    delivered: list[Any]
    now: float

    def of(self, kind: type) -> list[Any]:
        return [a for a in self.actions if isinstance(a, kind)]


def drive(
    call: Call[Any],
    connections: list[Any],
    now: float = 0.0,
    stop_after: int = -1,
    watch: Callable[[Any], object] = lambda item: None,
) -> Run:
    """Carry out `call`'s actions on a fake clock; `connections` answer each Connect in turn.

    `watch` sees each delivered item as the caller would, one at a time.
    """
    actions: list[Any] = []
    delivered: list[Any] = []
    action = call.start(now)
    while True:
        actions.append(action)
        assert len(actions) < 10_000, "the call does not end"
        if isinstance(action, Return | Raise):
            return Run(action, actions, delivered, now)
        if isinstance(action, Connect):
            action, now = _connect(call, action, connections.pop(0), now)
        elif isinstance(action, StartTLS):
            action.handle.tls = action.server_hostname
            action = call.connected(action.handle, now)
        elif isinstance(action, Send):
            assert not action.handle.closed
            if action.handle.fail_send:
                action = call.failed(BrokenPipeError(32, "Broken pipe"), now)
            else:
                action.handle.sent.append(action.data)
                action = call.next(now)
        elif isinstance(action, Receive):
            action, now = _receive(call, action, now)
        elif isinstance(action, Sleep):
            assert action.until >= now
            now = action.until
            action = call.next(now)
        elif isinstance(action, Deliver):
            for item in action.items:
                delivered.append(item)
                watch(item)
            if stop_after >= 0 and len(delivered) >= stop_after:
                return Run(call.abort(), actions, delivered, now)
            action = call.next(now)
        elif isinstance(action, Close):
            action.handle.closed = True
            action = call.next(now)
        else:  # pragma: no cover
            raise AssertionError(action)


def _connect(call: Call[Any], action: Connect, item: Any, now: float) -> tuple[Any, float]:
    """Answer a Connect with the scripted `item`: a Conn, an exception, or HANG."""
    if item is HANG:
        assert action.deadline is not None, "a connect with no deadline would hang forever"
        return call.timed_out(action.deadline), action.deadline
    if isinstance(item, BaseException):
        return call.failed(item, now), now
    return call.connected(item, now), now


def _receive(call: Call[Any], action: Receive, now: float) -> tuple[Any, float]:
    """Answer a Receive from the connection's script, or time out at its deadline."""
    conn, deadline = action.handle, action.deadline
    assert not conn.closed
    if conn.fail_recv:
        conn.fail_recv = False
        return call.failed(ConnectionResetError(104, "Connection reset by peer"), now), now
    if conn.chunks and (deadline is None or now + conn.chunks[0][0] <= deadline):
        delay, data = conn.chunks.pop(0)
        now += delay
        return call.received(data, now), now
    assert deadline is not None, "a receive with no deadline would hang forever"
    now = max(now, deadline)
    return call.timed_out(now), now


def session(**options: Any) -> Session:
    options.setdefault("base_url", "http://api.test")
    options.setdefault("environ", {})
    options.setdefault("retry", wire.RetryPolicy(options.pop("max_retries", 2), random=lambda: 0.0))
    return Session("sk-test", **options)


# --- responses ---------------------------------------------------------------------------

MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "m",
    "content": [{"type": "text", "text": "Hello"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 1},
}


def http(status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> bytes:
    head = f"HTTP/1.1 {status} X\r\ncontent-length: {len(body)}\r\n"
    for name, value in headers or [("content-type", "application/json")]:
        head += f"{name}: {value}\r\n"
    return head.encode() + b"\r\n" + body


def ok_json(value: Any = MESSAGE, extra: list[tuple[str, str]] | None = None) -> bytes:
    headers = [("content-type", "application/json"), *(extra or [])]
    return http(200, json.dumps(value).encode(), headers)


def error(status: int, extra: list[tuple[str, str]] | None = None) -> bytes:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    headers = [("content-type", "application/json"), *(extra or [])]
    return http(status, json.dumps(body).encode(), headers)


def sse(kind: str, data: dict[str, Any]) -> bytes:
    return wire.encode_sse(json.dumps({"type": kind, **data}), event=kind)


START = sse("message_start", {"message": {**MESSAGE, "content": [], "stop_reason": None}})
BLOCK = sse("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
DELTA = sse("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hi"}})
PING = sse("ping", {})
END = (
    sse("content_block_stop", {"index": 0})
    + sse("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}})
    + sse("message_stop", {})
)
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST = b"0\r\n\r\n"


def stream(*parts: bytes, delay: float = 0.0) -> list[tuple[float, bytes]]:
    """A chunked SSE response: the head at once, each part after `delay`."""
    return [(0.0, STREAM_HEAD)] + [(delay, chunk(p) if p != LAST else p) for p in parts]


def create(s: Session) -> Call[Any]:
    return s.create_message(model="m", max_tokens=10, messages=USER)


def streaming(s: Session) -> Call[Any]:
    return s.stream_message(model="m", max_tokens=10, messages=USER)


# --- success and reuse -------------------------------------------------------------------


def test_a_plain_call_connects_sends_and_returns() -> None:
    s = session()
    conn = Conn([(0.1, ok_json())])
    run = drive(create(s), [conn])
    assert isinstance(run.outcome, Return)
    assert run.outcome.value.content[0].text == "Hello"
    assert run.of(Connect) == [Connect("api.test", 80, 5.0)]
    assert conn.sent[0].startswith(b"POST /v1/messages HTTP/1.1\r\n")
    assert b"x-api-key: sk-test" in conn.sent[0]
    assert not conn.closed
    assert len(s.pool) == 1


def test_connection_reused_only_after_a_complete_reusable_response() -> None:
    s = session()
    conn = Conn([(0, ok_json()), (0, ok_json([], [("connection", "close")]))])
    drive(create(s), [conn])
    run = drive(s.count_tokens(model="m", messages=USER), [])  # no new connection offered
    assert isinstance(run.outcome, Raise)  # the answer was [] : not a count
    assert conn.closed
    assert len(s.pool) == 0
    other = Conn([(0, ok_json({"input_tokens": 7}))])
    run = drive(s.count_tokens(model="m", messages=USER), [other])
    assert run.outcome == Return(7)
    assert len(run.of(Connect)) == 1


def test_a_stale_pooled_connection_is_replaced_without_counting_a_retry() -> None:
    s = session(max_retries=0)
    stale = Conn([(0, ok_json()), (0, b"")])  # the server closed it while idle
    drive(create(s), [stale])
    fresh = Conn([(0, ok_json())])
    run = drive(create(s), [fresh])
    assert isinstance(run.outcome, Return)
    assert stale.closed
    assert len(fresh.sent) == 1


def test_idle_connections_expire_and_the_pool_is_bounded() -> None:
    s = session()
    s.pool.max_idle = 1
    first = Conn([(0, ok_json())])
    drive(create(s), [first], now=0.0)
    second = Conn([(0, ok_json())])
    drive(create(s), [second], now=100.0)  # past keepalive: `first` is closed, not reused
    assert first.closed
    assert len(s.pool) == 1
    assert s.close() == [second]
    assert s.pool.closed


# --- retries -----------------------------------------------------------------------------


def test_429_with_retry_after_sleeps_that_long_then_succeeds_on_the_same_connection() -> None:
    s = session()
    conn = Conn([(0, error(429, [("retry-after", "7")])), (0, ok_json())])
    run = drive(create(s), [conn], now=100.0)
    assert isinstance(run.outcome, Return)
    assert run.of(Sleep) == [Sleep(107.0)]
    assert len(conn.sent) == 2
    assert len(run.of(Connect)) == 1


def test_529_backs_off_then_succeeds() -> None:
    run = drive(create(session()), [Conn([(0, error(529)), (0, ok_json())])])
    assert isinstance(run.outcome, Return)
    assert run.of(Sleep) == [Sleep(0.5)]  # 0.5 s, jitter 0 (random=0)


def test_x_should_retry_false_is_obeyed() -> None:
    run = drive(create(session()), [Conn([(0, error(500, [("x-should-retry", "false")]))])])
    assert isinstance(run.outcome, Raise)
    assert isinstance(run.outcome.error, wire.InternalServerError)
    assert run.of(Sleep) == []


def test_connection_refused_then_success() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    run = drive(create(session()), [refused, Conn([(0, ok_json())])])
    assert isinstance(run.outcome, Return)
    assert len(run.of(Connect)) == 2
    assert len(run.of(Sleep)) == 1


def test_connection_failure_names_host_and_cause_never_the_key() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    run = drive(create(session(max_retries=0)), [refused])
    assert isinstance(run.outcome, Raise)
    error = run.outcome.error
    assert type(error) is wire.APIConnectionError
    assert "api.test" in str(error)
    assert "Connection refused" in str(error)
    assert "sk-test" not in str(error)
    assert error.__cause__ is refused


def test_give_up_after_max_retries() -> None:
    conn = Conn([(0, error(529)), (0, error(529)), (0, error(529)), (0, ok_json())])
    run = drive(create(session()), [conn])
    assert isinstance(run.outcome, Raise)
    assert isinstance(run.outcome.error, wire.OverloadedError)
    assert [a.until for a in run.of(Sleep)] == [0.5, 1.5]  # 0.5 then 1.0 more
    assert len(conn.sent) == 3


def test_a_reset_mid_request_is_retried_on_a_new_connection() -> None:
    broken = Conn(fail_recv=True)
    run = drive(create(session()), [broken, Conn([(0, ok_json())])])
    assert isinstance(run.outcome, Return)
    assert broken.closed


# --- streams: never retried once events reached the caller --------------------------------


def test_a_stream_delivers_every_event_and_returns_the_message() -> None:
    s = session()
    conn = Conn(stream(START + BLOCK, DELTA, PING, END, LAST))
    call = streaming(s)
    run = drive(call, [conn])
    assert isinstance(run.outcome, Return)
    assert [e.type for e in run.delivered] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "ping",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert run.outcome.value.content[0].text == "Hi"
    assert call.response is not None
    assert call.response.status == 200
    assert len(s.pool) == 1


@given(
    st.lists(st.sampled_from([DELTA, PING]), max_size=12),
    st.lists(st.integers(1, 200), min_size=1, max_size=20),
)
def test_the_message_is_that_of_the_events_handed_out_so_far(
    middle: list[bytes], cuts: list[int]
) -> None:
    # The whole body in pieces of arbitrary sizes: one piece often completes many events.
    body = STREAM_HEAD + b"".join(chunk(p) for p in [START, BLOCK, *middle, END]) + LAST
    pieces: list[tuple[float, bytes]] = []
    at = 0
    while at < len(body):
        size = cuts[len(pieces) % len(cuts)]
        pieces.append((0.0, body[at : at + size]))
        at += size
    call = streaming(session())
    reference = wire.MessageAccumulator()
    seen: list[Any] = []

    def watch(event: Any) -> None:
        reference.feed(event)
        seen.append(call.message)
        assert call.message == reference.message

    run = drive(call, [Conn(pieces)], watch=watch)
    assert isinstance(run.outcome, Return)
    assert run.outcome.value == seen[-1] == call.message
    assert seen[0] is not None
    assert seen[0].content == ()  # only message_start so far


def test_a_drop_mid_stream_raises_incomplete_and_is_never_retried() -> None:
    s = session()
    conn = Conn([*stream(START + BLOCK, DELTA), (0, b"")])
    run = drive(streaming(s), [conn, Conn([(0, ok_json())])])
    assert isinstance(run.outcome, Raise)
    error = run.outcome.error
    assert isinstance(error, wire.IncompleteStreamError)
    assert error.partial_message is not None
    assert error.partial_message.text == "Hi"
    assert len(run.of(Connect)) == 1
    assert run.of(Sleep) == []
    assert conn.closed
    assert len(s.pool) == 0


def test_an_error_event_raises_its_subclass_with_status_200_and_no_retry() -> None:
    boom = sse("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}})
    conn = Conn(stream(START, DELTA, boom, LAST))
    run = drive(streaming(session()), [conn])
    assert isinstance(run.outcome, Raise)
    error = run.outcome.error
    assert isinstance(error, wire.OverloadedError)
    assert (error.status, error.type) == (200, "overloaded_error")
    assert run.delivered[-1].type == "error"
    assert len(run.of(Connect)) == 1


def test_a_stream_error_status_before_any_event_is_retried() -> None:
    conn = Conn([(0, error(529)), *stream(START + BLOCK + DELTA + END, LAST)])
    run = drive(streaming(session()), [conn])
    assert isinstance(run.outcome, Return)
    assert len(run.of(Sleep)) == 1


def test_a_broken_body_after_events_raises_at_once_without_another_read() -> None:
    conn = Conn([*stream(START), (0, b"zz\r\n")])  # a bad chunk size after the first event
    run = drive(streaming(session()), [conn])
    assert isinstance(run.outcome, Raise)
    assert isinstance(run.outcome.error, wire.RemoteProtocolError)
    assert conn.closed


def test_leaving_a_stream_early_never_pools_the_connection() -> None:
    s = session()
    conn = Conn(stream(START + BLOCK, DELTA, END, LAST))
    call = streaming(s)
    run = drive(call, [conn], stop_after=1)
    assert run.outcome == [conn]  # abort(): the handle to close
    assert len(s.pool) == 0
    assert call.abort() == []
    with pytest.raises(wire.LocalProtocolError):
        call.next(0.0)


def test_batch_results_are_delivered_as_they_arrive() -> None:
    lines = [
        {"custom_id": f"r{i}", "result": {"type": "canceled"}} for i in range(3)
    ]  # fmt: skip
    body = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/binary\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    conn = Conn([(0, head), (0, chunk(body[:50])), (0, chunk(body[50:])), (0, LAST)])
    run = drive(session().batch_results("msgbatch_1"), [conn])
    assert run.outcome == Return(None)
    assert [r.custom_id for r in run.delivered] == ["r0", "r1", "r2"]


# --- timeouts ----------------------------------------------------------------------------


def timeout_of(run: Run) -> str | None:
    assert isinstance(run.outcome, Raise)
    assert isinstance(run.outcome.error, wire.APITimeoutError)
    return run.outcome.error.timeout


def test_connect_timeout() -> None:
    run = drive(create(session(max_retries=0, timeout=wire.Timeout(connect=2))), [HANG])
    assert timeout_of(run) == "connect"
    assert run.now == 2.0


def test_read_timeout_on_a_silent_server() -> None:
    conn = Conn()
    run = drive(create(session(max_retries=0, timeout=wire.Timeout(read=3))), [conn])
    assert timeout_of(run) == "read"
    assert run.now == 3.0
    assert conn.closed


def test_a_read_timeout_before_the_answer_is_retried() -> None:
    s = session(timeout=wire.Timeout(read=3))
    run = drive(create(s), [Conn(), Conn([(0, ok_json())])])
    assert isinstance(run.outcome, Return)


def test_idle_timeout_between_events() -> None:
    timeout = wire.Timeout(read=100, idle=4, stall=50)
    conn = Conn([*stream(START, DELTA, delay=1.0), (10.0, chunk(DELTA))])
    run = drive(streaming(session(timeout=timeout)), [conn])
    assert timeout_of(run) == "idle"
    assert run.now == 2.0 + 4.0
    assert len(run.of(Connect)) == 1  # events were delivered: not retried


def test_stall_timeout_on_a_ping_only_stream() -> None:
    timeout = wire.Timeout(read=100, idle=3, stall=5)
    conn = Conn(stream(START, *[PING] * 20, delay=1.0))
    run = drive(streaming(session(timeout=timeout)), [conn])
    assert timeout_of(run) == "stall"
    assert run.now == 1.0 + 5.0


def test_total_timeout_catches_a_trickling_stream() -> None:
    timeout = wire.Timeout(read=100, idle=3, stall=5, total=10)
    conn = Conn(stream(START, *[DELTA] * 50, delay=1.0))
    run = drive(streaming(session(timeout=timeout)), [conn])
    assert timeout_of(run) == "total"
    assert run.now == 10.0


def test_no_retry_sleep_runs_past_the_total_deadline() -> None:
    s = session(timeout=wire.Timeout(total=5))
    run = drive(create(s), [Conn([(0, error(429, [("retry-after", "30")]))])])
    assert isinstance(run.outcome.error, wire.RateLimitError)
    assert run.of(Sleep) == []


# --- the limiter --------------------------------------------------------------------------


def test_the_limiter_waits_before_sending_and_resyncs_from_headers() -> None:
    limiter = wire.Limiter(requests_per_minute=60)
    s = session(limiter=limiter)
    headers = [("anthropic-ratelimit-requests-limit", "60")]
    headers.append(("anthropic-ratelimit-requests-remaining", "0"))
    conn = Conn([(0, ok_json(MESSAGE, headers)), (0, ok_json())])
    first = drive(create(s), [conn], now=0.0)
    assert first.of(Sleep) == []
    second = drive(create(s), [], now=0.0)  # the server says none left: wait for one to refill
    assert second.of(Sleep) == [Sleep(1.0)]
    assert isinstance(second.outcome, Return)


def test_a_limiter_wait_past_the_total_deadline_times_out_at_once() -> None:
    limiter = wire.Limiter(requests_per_minute=1)
    s = session(limiter=limiter, timeout=wire.Timeout(total=5))
    drive(create(s), [Conn([(0, ok_json())])])
    run = drive(create(s), [])
    assert timeout_of(run) == "total"
    assert run.of(Sleep) == []


# --- proxies ------------------------------------------------------------------------------


def test_https_through_a_connect_tunnel() -> None:
    s = session(base_url="https://api.test", proxy="http://u:pw@proxy.test:3128")
    conn = Conn([(0, b"HTTP/1.1 200 Connection established\r\n\r\n"), (0, ok_json())])
    run = drive(create(s), [conn])
    assert isinstance(run.outcome, Return)
    assert run.of(Connect) == [Connect("proxy.test", 3128, 5.0)]
    assert conn.sent[0].startswith(b"CONNECT api.test:443 HTTP/1.1\r\n")
    assert b"proxy-authorization: Basic dTpwdw==" in conn.sent[0]
    assert conn.tls == "api.test"
    assert b"proxy-authorization" not in conn.sent[1]


def test_a_proxy_refusal_is_a_proxy_error() -> None:
    s = session(base_url="https://api.test", proxy="http://proxy.test:3128", max_retries=0)
    conn = Conn([(0, b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")])
    run = drive(create(s), [conn])
    assert isinstance(run.outcome.error, ProxyError)
    assert run.outcome.error.status == 407
    assert conn.closed


def test_plain_http_through_a_proxy_uses_the_absolute_form() -> None:
    s = session(environ={"HTTP_PROXY": "http://proxy.test:8080"})
    conn = Conn([(0, ok_json())])
    run = drive(create(s), [conn])
    assert run.of(Connect) == [Connect("proxy.test", 8080, 5.0)]
    assert conn.sent[0].startswith(b"POST http://api.test:80/v1/messages HTTP/1.1\r\n")
    assert run.of(StartTLS) == []


# --- settings -----------------------------------------------------------------------------


def test_credentials_and_base_url_from_the_environment() -> None:
    s = Session(environ={"ANTHROPIC_API_KEY": "sk-env", "ANTHROPIC_BASE_URL": "https://h:8443/p"})
    assert (s.scheme, s.host, s.port, s.host_header, s.config.base_path) == (
        "https",
        "h",
        8443,
        "h:8443",
        "/p",
    )
    assert "sk-env" not in repr(s)
    with pytest.raises(wire.InvalidParameterError, match="ANTHROPIC_API_KEY"):
        Session(environ={})
    for bad in ("ftp://h", "http://", "http://h?q=1", "http://u:p@h"):
        with pytest.raises(wire.InvalidParameterError, match="base_url"):
            Session("k", base_url=bad, environ={})


# --- the property: whatever the peer does ---------------------------------------------------

peer_step = st.one_of(
    st.tuples(st.floats(0, 3), st.sampled_from([START, BLOCK, DELTA, PING, END]).map(chunk)),
    st.tuples(st.floats(0, 3), st.sampled_from([LAST, b"", b"garbage", error(529)])),
)
peer = st.one_of(
    st.just(HANG),
    st.just(ConnectionRefusedError(111, "refused")),
    st.builds(
        lambda head, steps, fail: Conn([(0.0, head), *steps], fail_recv=fail),
        st.sampled_from([STREAM_HEAD, b"HTTP/1.1 529 X\r\ncontent-length: 0\r\n\r\n"]),
        st.lists(peer_step, max_size=8),
        st.booleans(),
    ),
)


@given(
    st.lists(peer, min_size=4, max_size=4),
    st.integers(0, 3),
    st.one_of(st.none(), st.floats(1, 20)),
    st.integers(-1, 4),
)
def test_every_call_ends_and_keeps_its_promises(
    peers: list[Any], retries: int, total: float | None, stop_after: int
) -> None:
    timeout = wire.Timeout(connect=1, read=2, idle=3, stall=4, total=total)
    s = session(max_retries=retries, timeout=timeout)
    run = drive(streaming(s), peers, stop_after=stop_after)
    assert isinstance(run.outcome, Return | Raise | list)  # list: the caller left (abort)
    if isinstance(run.outcome, Raise):
        assert isinstance(run.outcome.error, wire.WireError)
        assert "sk-test" not in str(run.outcome.error)
    first_deliver = next((i for i, a in enumerate(run.actions) if isinstance(a, Deliver)), None)
    if first_deliver is not None:  # no retry after events reached the caller
        later = run.actions[first_deliver:]
        assert not any(isinstance(a, Connect | Sleep | Send) for a in later)
    for action in run.actions:
        if isinstance(action, Sleep) and total is not None:
            assert action.until <= total
        if total is not None and hasattr(action, "deadline"):
            assert action.deadline is not None
            assert action.deadline <= total
    assert len(run.of(Connect)) <= retries + 1 + len(run.of(Close))
    # A connection still open at the end is pooled and idle, never half-read.
    for conn in {id(p): p for p in peers if isinstance(p, Conn)}.values():
        if conn.sent and not conn.closed:
            assert any(idle.handle is conn for idle in s.pool._idle)
