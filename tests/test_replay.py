"""Replay (wire.testing.replay, `serve(replay=...)`, `wire serve --replay`): captures written
by the helpers below, following the pinned file format, some of them made from the
emulator's own answers; served to raw sockets, wire.sync and the official SDK."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wire
import wire.sync
from wire import builders as build
from wire.testing.capture import (
    CapturedRequest,
    CapturedResponse,
    CaptureError,
    End,
    Exchange,
    Read,
)
from wire.testing.emulator import Action, Emulator, Send, Sleep
from wire.testing.replay import Replay

pytest.importorskip("trio")

from wire.testing import serve

ROOT = Path(__file__).resolve().parents[1]
CFG = wire.APIConfig(api_key="sk-test")
HELLO = [{"role": "user", "content": "hello there"}]


# -- writing captures ------------------------------------------------------------------------


@dataclass
class Rec:
    """One exchange to write: reads are (t, bytes); `end` None leaves the end line out."""

    target: str = "/v1/messages"
    body: bytes = b""
    method: str = "POST"
    status: int | None = 200
    reason: str = "OK"
    headers: list[tuple[str, str]] = field(
        default_factory=lambda: [("content-type", "application/json")]
    )
    t: float = 0.0
    reads: list[tuple[float, bytes]] = field(default_factory=list)
    end: float | None = 0.0
    complete: bool = True


def _text_or_base64(key: str, data: bytes) -> dict[str, str]:
    try:
        return {key: data.decode("utf-8")}
    except UnicodeDecodeError:
        return {f"{key}_base64": base64.b64encode(data).decode()}


def capture_lines(recs: list[Rec]) -> list[dict[str, Any]]:
    """The capture's lines for `recs` (exchange ids 1, 2, ...), one exchange after another."""
    lines: list[dict[str, Any]] = [
        {"type": "wire-capture", "version": 1, "created": "2026-11-26T15:00:00Z"}
    ]
    for ident, rec in enumerate(recs, 1):
        request = {"type": "request", "id": ident, "at": 1795705200.0 + ident}
        request |= {"method": rec.method, "target": rec.target, "headers": []}
        lines.append(request | _text_or_base64("body", rec.body))
        if rec.status is not None:
            head = {"type": "response", "id": ident, "t": rec.t, "status": rec.status}
            lines.append(head | {"reason": rec.reason, "headers": [list(h) for h in rec.headers]})
        for t, data in rec.reads:
            lines.append({"type": "data", "id": ident, "t": t} | _text_or_base64("data", data))
        if rec.end is not None:
            end: dict[str, Any] = {"type": "end", "id": ident, "t": rec.end}
            end["complete"] = rec.complete
            if not rec.complete:
                end["error"] = "the upstream closed the connection"
            lines.append(end)
    return lines


def write_capture(path: Path, recs: list[Rec]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in capture_lines(recs)))
    return path


def emulator_rec(request: wire.Request, gap: float = 0.0) -> Rec:
    """The emulator's answer to `request` as a recording: one read per body piece it
    wrote (an SSE frame each, for a stream), `gap` seconds apart."""
    emulator = Emulator(seed=5)
    connection = emulator.connection()
    client = h11.Connection(h11.CLIENT)
    head = h11.Request(
        method=request.method,
        target=request.target,
        headers=[("host", "h"), ("content-length", str(len(request.body))), *request.headers],
    )
    data = client.send(head) or b""
    data += (client.send(h11.Data(data=request.body)) or b"") if request.body else b""
    data += client.send(h11.EndOfMessage()) or b""
    actions = connection.receive_data(data, 0.0)
    while connection.pending:
        actions += connection.next_actions(0.0)
    client.receive_data(b"".join(a.data for a in actions if isinstance(a, Send)))
    rec = Rec(target=request.target, body=request.body, method=request.method, reads=[])
    while not isinstance(event := client.next_event(), h11.EndOfMessage):
        if isinstance(event, h11.Response):
            rec.status, rec.reason = event.status_code, event.reason.decode()
            framing = {b"content-length", b"transfer-encoding", b"content-encoding"}
            rec.headers = [(k.decode(), v.decode()) for k, v in event.headers if k not in framing]
            rec.t = gap
        elif isinstance(event, h11.Data):
            rec.reads.append((gap * (len(rec.reads) + 2), bytes(event.data)))
    rec.end = gap * (len(rec.reads) + 2)
    return rec


def stream_request(**fields: Any) -> wire.Request:
    params: dict[str, Any] = {"model": "claude-opus-4-6", "max_tokens": 20, "messages": HELLO}
    return build.create_message(CFG, stream=True, **(params | fields))


# -- a raw socket client ---------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    reads: list[bytes]  # the body bytes each recv delivered (empty recvs left out)
    times: list[float]  # when each of them came, seconds after the request was sent
    complete: bool  # the body's end came (not a close mid-body)
    head_time: float = 0.0


def fetch(port: int, method: str, target: str, body: bytes = b"", **kw: Any) -> Answer:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        return fetch_on(sock, method, target, body, **kw)


def fetch_on(
    sock: socket.socket, method: str, target: str, body: bytes = b"", headers: Any = ()
) -> Answer:
    client = h11.Connection(h11.CLIENT)
    all_headers = [("host", "h"), ("content-length", str(len(body))), *headers]
    sock.sendall(
        (client.send(h11.Request(method=method, target=target, headers=all_headers)) or b"")
        + (client.send(h11.Data(data=body)) or b"" if body else b"")
        + (client.send(h11.EndOfMessage()) or b"")
    )
    start = time.monotonic()
    answer = Answer(0, {}, [], [], False)
    while True:
        data = sock.recv(1 << 20)
        now = time.monotonic() - start
        client.receive_data(data)
        piece = b""
        while True:
            try:
                event = client.next_event()
            except h11.RemoteProtocolError:  # closed mid-body
                return answer
            if event is h11.NEED_DATA:
                break
            if isinstance(event, h11.Response):
                answer.status, answer.head_time = event.status_code, now
                answer.headers = {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                piece += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                answer.complete = isinstance(event, h11.EndOfMessage)
                _keep(answer, piece, now)
                return answer
        _keep(answer, piece, now)


def _keep(answer: Answer, piece: bytes, now: float) -> None:
    if piece:
        answer.reads.append(piece)
        answer.times.append(now)


# -- the reader ------------------------------------------------------------------------------


def test_the_reader_takes_the_pinned_format(tmp_path: Path) -> None:
    recs = [Rec(body=b'{"a": 1}', reads=[(0.1, b"\xff\x00"), (0.2, b"ok")], end=0.3)]
    lines = capture_lines(recs)
    lines.insert(1, {"type": "comment", "id": 9, "text": "a later version's line"})
    lines[2]["unknown"] = "ignored"
    path = tmp_path / "c.wirecap"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    (exchange,) = Replay.load(path).exchanges
    request = exchange.request
    assert (exchange.id, request.method, request.target) == (1, "POST", "/v1/messages")
    assert request.body == b'{"a": 1}'
    assert [(r.t, r.data) for r in exchange.reads] == [(0.1, b"\xff\x00"), (0.2, b"ok")]
    assert exchange.response is not None
    assert exchange.response.status == 200
    assert exchange.end == End(t=0.3, complete=True)


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        ([], "empty: no wire capture header"),
        (['{"type": "request", "id": 1}'], "line 1: the first line is not a wire capture"),
        (['{"type": "wire-capture", "version": 2}'], "line 1: version 2"),
        (['{"type": "wire-capture", "version": 1}', "not json"], "line 2: not a JSON object"),
        (
            ['{"type": "wire-capture", "version": 1}', '{"type": "request", "id": 1}'],
            "line 2: no 'method'",
        ),
        (
            ['{"type": "wire-capture", "version": 1}', '{"type": "end", "id": 3, "t": 0}'],
            "line 2: an end line for exchange 3, before its request",
        ),
    ],
)
def test_a_broken_capture_is_a_typed_error_naming_the_line(
    tmp_path: Path, lines: list[str], says: str
) -> None:
    path = tmp_path / "bad.wirecap"
    path.write_text("".join(line + "\n" for line in lines))
    with pytest.raises(CaptureError, match=says):
        Replay.load(path)  # the capture module's reader: one error class, naming the line


# -- bytes and pace --------------------------------------------------------------------------

PACED = Rec(
    headers=[("content-type", "text/event-stream"), ("request-id", "req_rec")],
    t=0.05,
    reads=[(0.1, b"event: a\ndata: 1\n\n"), (0.2, b"data: 2"), (0.3, b"\n\n"), (0.45, b":x\n")],
    end=0.5,
)


def test_each_recorded_read_arrives_as_one_read_at_its_time(tmp_path: Path) -> None:
    with serve(replay=write_capture(tmp_path / "c", [PACED])) as server:
        answer = fetch(server.port, "POST", "/v1/messages")
    assert answer.status == 200
    assert answer.headers["request-id"] == "req_rec"
    assert answer.headers["transfer-encoding"] == "chunked"  # an event stream goes out chunked
    assert answer.reads == [data for _, data in PACED.reads]
    assert answer.complete
    # Never early (each piece is due at the request's arrival plus its recorded time),
    # and, on a loaded machine, late by half a second at most.
    assert answer.head_time >= PACED.t - 0.01
    for (t, _), came in zip(PACED.reads, answer.times, strict=True):
        assert came >= t - 0.01
    assert answer.times[-1] <= PACED.reads[-1][0] + 0.5


def test_speed_scales_the_pace(tmp_path: Path) -> None:
    slow = Rec(reads=[(0.5 * i, b"%d" % i) for i in range(1, 5)], end=2.0)
    path = write_capture(tmp_path / "c", [slow])
    for speed, least, most in ((0, 0.0, 0.5), (10, 0.2 - 0.01, 0.2 + 0.5)):
        with serve(replay=path, speed=speed) as server:
            answer = fetch(server.port, "POST", "/v1/messages")
        assert b"".join(answer.reads) == b"1234"
        assert answer.headers["content-length"] == "4"  # a complete JSON body: its length
        assert least <= answer.times[-1] <= most, (speed, answer.times)


def test_keep_alive_between_exchanges(tmp_path: Path) -> None:
    recs = [Rec(target="/v1/models", method="GET", reads=[(0, b"{}")]), PACED]
    with (
        serve(replay=write_capture(tmp_path / "c", recs), speed=0) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        for _ in range(2):
            assert fetch_on(sock, "GET", "/v1/models").reads == [b"{}"]
            assert b"".join(fetch_on(sock, "POST", "/v1/messages").reads) == b"".join(
                data for _, data in PACED.reads
            )
        assert server.emulator.requests_seen == 4


# -- matching --------------------------------------------------------------------------------


def test_json_bodies_match_whatever_their_key_order_and_spacing(tmp_path: Path) -> None:
    recs = [
        Rec(body=b'{"a": 1, "b": [1, 2]}', reads=[(0, b"first")]),
        Rec(target="/v1/models?limit=2&after_id=x", method="GET", reads=[(0, b"page")]),
    ]
    with serve(replay=write_capture(tmp_path / "c", recs), speed=0) as server:
        answer = fetch(server.port, "POST", "/v1/messages", b'{"b":[1,2],\n "a":1}')
        page = fetch(server.port, "GET", "/v1/models?after_id=x&limit=2", headers=[("x", "y")])
    assert answer.reads == [b"first"]
    assert page.reads == [b"page"]


def test_a_repeated_request_gets_its_recordings_in_order_then_the_last_again(
    tmp_path: Path,
) -> None:
    recs = [Rec(body=b"{}", reads=[(0, b"one")]), Rec(body=b"{}", reads=[(0, b"two")])]
    with serve(replay=write_capture(tmp_path / "c", recs), speed=0) as server:
        got = [fetch(server.port, "POST", "/v1/messages", b"{}").reads for _ in range(4)]
    assert got == [[b"one"], [b"two"], [b"two"], [b"two"]]


def test_an_unmatched_request_is_a_404_naming_the_closest_recording(tmp_path: Path) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    recs = [
        Rec(target="/v1/models", method="GET"),
        Rec(body=json.dumps(body).encode(), reads=[(0, b"{}")]),
    ]
    asked = json.dumps(body | {"messages": [{"role": "user", "content": "ho"}]}).encode()
    with serve(replay=write_capture(tmp_path / "c", recs), speed=0) as server:
        answer = fetch(server.port, "POST", "/v1/messages", asked)
        other = fetch(server.port, "DELETE", "/v1/models")
        assert len(server.emulator.misses) == 2
    assert answer.status == 404
    envelope = json.loads(b"".join(answer.reads))
    assert envelope["error"]["type"] == "not_found_error"
    assert envelope["request_id"].startswith("req_")
    message = envelope["error"]["message"]
    assert "no recording matches POST /v1/messages; the closest is exchange 2" in message
    assert '$.messages[0].content is "ho", "hi" recorded' in message
    assert (
        "exchange 1 (GET /v1/models): its method differs"
        in json.loads(b"".join(other.reads))["error"]["message"]
    )


def test_the_sync_client_sees_a_404_as_not_found(tmp_path: Path) -> None:
    with (
        serve(replay=write_capture(tmp_path / "c", []), speed=0) as server,
        wire.sync.Client(api_key="k", base_url=server.base_url, proxy=None) as client,
        pytest.raises(wire.NotFoundError, match="the capture holds none"),
    ):
        client.get_model("claude-opus-4-6")


# -- emulator captures to real clients -------------------------------------------------------


def test_a_capture_of_the_emulator_replays_to_wire_sync(tmp_path: Path) -> None:
    request = stream_request()
    rec = emulator_rec(request, gap=0.01)
    expected = wire.MessageStreamDecoder()
    for _, data in rec.reads:
        expected.feed(data)
    with (
        serve(replay=write_capture(tmp_path / "c", [rec])) as server,
        wire.sync.Client(api_key="k", base_url=server.base_url, proxy=None) as client,
        client.stream_message(model="claude-opus-4-6", max_tokens=20, messages=HELLO) as stream,
    ):
        events = list(stream)
    assert stream.message == expected.message
    assert isinstance(events[0], wire.MessageStart)


def test_a_recorded_cut_off_is_an_incomplete_stream_with_its_partial_message(
    tmp_path: Path,
) -> None:
    rec = emulator_rec(stream_request())
    rec.reads = rec.reads[:5]  # message_start, ping, a block start and two deltas
    rec.complete = False
    with (
        serve(replay=write_capture(tmp_path / "c", [rec]), speed=0) as server,
        wire.sync.Client(api_key="k", base_url=server.base_url, proxy=None) as client,
        pytest.raises(wire.IncompleteStreamError) as raised,
        client.stream_message(model="claude-opus-4-6", max_tokens=20, messages=HELLO) as stream,
    ):
        for _ in stream:
            pass
    partial = raised.value.partial_message
    assert partial is not None
    assert partial.content[0].to_dict()["text"]  # the text of the two deltas


def test_a_request_the_upstream_never_answered_gets_the_recorders_502(tmp_path: Path) -> None:
    """What the recorder's client saw: a 502 envelope naming the recorded error, then a close."""
    rec = Rec(method="GET", target="/v1/models/claude-opus-4-6", status=None, complete=False)
    with (
        serve(replay=write_capture(tmp_path / "c", [rec])) as server,
        wire.sync.Client(api_key="k", base_url=server.base_url, max_retries=0, proxy=None) as c,
        pytest.raises(wire.APIError) as raised,
    ):
        c.get_model("claude-opus-4-6")
    assert raised.value.status == 502
    assert raised.value.message.startswith("wire record: upstream failed: ")


def test_the_official_sdk_streams_the_recorded_events(tmp_path: Path) -> None:
    anthropic = pytest.importorskip("anthropic")
    request = stream_request()
    rec = emulator_rec(request)
    decoder = wire.SSEDecoder()
    recorded = [
        json.loads(sse.data)
        for _, data in rec.reads
        for sse in decoder.feed(data)
        if sse.event != "ping"  # the SDK drops pings
    ]
    with serve(replay=write_capture(tmp_path / "c", [rec]), speed=0) as server:
        client = anthropic.Anthropic(api_key="sk-x", base_url=server.base_url, max_retries=0)
        with client.messages.create(
            model="claude-opus-4-6", max_tokens=20, messages=HELLO, stream=True
        ) as stream:
            events = [event.to_dict() for event in stream]
        client.close()
    assert events == recorded


# -- any capture, byte for byte --------------------------------------------------------------


@st.composite
def recordings(draw: st.DrawFn, target: str) -> Rec:
    body = draw(st.binary(max_size=300))
    cuts = sorted(draw(st.lists(st.integers(1, max(1, len(body))), max_size=6, unique=True)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=False)]
    content_type = draw(st.sampled_from(["application/json", "text/event-stream", "x/y"]))
    return Rec(
        target=target,
        status=draw(st.sampled_from([200, 400, 429, 529])),
        headers=[("content-type", content_type)],
        reads=[(0.0, piece) for piece in pieces if piece],
        complete=draw(st.booleans()),
    )


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_capture_replays_its_body_bytes_exactly(tmp_path: Path, data: st.DataObject) -> None:
    recs = [data.draw(recordings(f"/v1/x{i}")) for i in range(3)]
    with serve(replay=write_capture(tmp_path / "any", recs), speed=0) as server:
        for rec in recs:
            answer = fetch(server.port, "POST", rec.target)
            assert answer.status == rec.status
            assert b"".join(answer.reads) == b"".join(piece for _, piece in rec.reads)
            assert answer.complete == rec.complete


def run_plan(replay: Replay, data: bytes) -> list[Action]:
    """A replay connection's actions for `data`, with time standing still."""
    connection = replay.connection()
    actions = connection.receive_data(data, 0.0)
    while connection.pending:
        actions += connection.next_actions(0.0)
    return actions


@settings(max_examples=60, deadline=None)
@given(recordings("/v1/messages"), st.floats(0.5, 4))
def test_one_send_per_recorded_read_each_at_its_time(rec: Rec, speed: float) -> None:
    rec.reads = [(0.1 * (i + 1), piece) for i, (_, piece) in enumerate(rec.reads)]
    (exchange,) = _exchanges(rec)
    connection = Replay([exchange], speed=speed).connection()
    request = b"POST /v1/messages HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n"
    now, sends = 0.0, []
    actions = connection.receive_data(request, now)
    while True:
        for action in actions:
            if isinstance(action, Sleep):
                now += action.seconds
            elif isinstance(action, Send):
                sends.append((now, action.data))
        if not connection.pending:
            break
        actions = connection.next_actions(now)
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="POST", target="/", headers=[("host", "h")]))
    client.send(h11.EndOfMessage())
    got = []
    for at, data in sends:  # after the head, each send is one read, at its due time
        client.receive_data(data)
        body = b""
        while isinstance(event := client.next_event(), h11.Data | h11.Response):
            body += bytes(event.data) if isinstance(event, h11.Data) else b""
        if body:
            got.append((at, body))
    assert [data for _, data in got] == [piece for _, piece in rec.reads]
    for (at, _), (t, _) in zip(got, rec.reads, strict=True):
        assert at == pytest.approx(t / speed)


def _exchanges(rec: Rec) -> list[Exchange]:
    request = CapturedRequest(method=rec.method, target=rec.target, body=rec.body)
    response = None
    if rec.status is not None:
        response = CapturedResponse(t=rec.t, status=rec.status, headers=tuple(rec.headers))
    return [
        Exchange(
            id=1,
            at=0.0,
            request=request,
            response=response,
            reads=tuple(Read(t=t, data=data) for t, data in rec.reads),
            end=None if rec.end is None else End(t=rec.end, complete=rec.complete),
        )
    ]


# -- hostile requests ------------------------------------------------------------------------


def test_hostile_requests_never_stop_the_replay(tmp_path: Path) -> None:
    from tests.test_emulator import TRIGGERS
    from tests.test_server import raw_exchange

    hostile = [data for data, _, _ in TRIGGERS.values()]
    hostile += [
        b"\x00\xff garbage\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"x: y\r\n" * 20_000 + b"\r\n",
        b"POST /v1/messages HTTP/1.1\r\nhost: h\r\ncontent-length: 40000000\r\n\r\n",
        b"BREW /v1/messages HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n",
    ]
    recs = [Rec(target="/v1/recorded", method="GET", reads=[(0, b"{}")])]
    with serve(replay=write_capture(tmp_path / "c", recs), speed=0) as server:
        for data in hostile:  # each a 4xx: unmatched, malformed or too large
            assert raw_exchange(server.port, data).startswith(b"HTTP/1.1 4"), data[:40]
        assert fetch(server.port, "GET", "/v1/recorded").reads == [b"{}"]
        assert server.emulator.failures == []


def test_a_replay_takes_no_emulator_options(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "c", [])
    with pytest.raises(ValueError, match="api_key, pace"), serve(replay=path, api_key="k", pace=3):
        pass
    with pytest.raises(ValueError, match="speed"), serve(replay=path, speed=-1):
        pass


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def cli_replay(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    path = write_capture(tmp_path / "c.wirecap", [PACED])
    argv = ["serve", "--port", "0", "--replay", str(path), "--speed", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "wire", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_wire_serve_replay_prints_its_url_and_replays(
    cli_replay: tuple[subprocess.Popen[str], str],
) -> None:
    _, line = cli_replay
    assert line.startswith("wire replay of c.wirecap (1 exchange) listening on http://127.0.0.1:")
    port = int(line.rsplit(":", 1)[1])
    answer = fetch(port, "POST", "/v1/messages")
    assert b"".join(answer.reads) == b"".join(data for _, data in PACED.reads)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--replay", "missing.wirecap"], "wire: error: cannot read missing.wirecap: No such file"),
        (
            ["--replay", "pyproject.toml"],
            "wire: error: pyproject.toml: capture line 1: not a JSON object",
        ),
        (["--speed", "-2"], "not a speed"),
    ],
)
def test_wire_serve_replay_errors_are_one_line(args: list[str], says: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wire", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert done.returncode in (1, 2)
    assert says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_pipelined_requests_are_answered_in_order_each_paced_from_its_turn() -> None:
    head = (("content-type", "text/event-stream"),)
    exchange = Exchange(
        id=1,
        at=0.0,
        request=CapturedRequest(method="GET", target="/a"),
        response=CapturedResponse(t=0.0, status=200, reason="OK", headers=head),
        reads=(Read(t=0.5, data=b"x"), Read(t=1.0, data=b"y")),
        end=End(t=1.2, complete=True),
    )
    replay = Replay([exchange], speed=2)
    connection = replay.connection()
    actions = connection.receive_data(b"GET /a HTTP/1.1\r\nhost: h\r\n\r\n" * 2, 0.0)
    now, sends = 0.0, []
    while True:
        for action in actions:
            now += action.seconds if isinstance(action, Sleep) else 0.0
            if isinstance(action, Send):
                sends.append((round(now, 6), action.data))
        if not connection.pending:
            break
        actions = connection.next_actions(now)
    pieces = [(at, data) for at, data in sends if data.startswith((b"1\r\n", b"0\r\n"))]
    assert pieces == [
        (0.25, b"1\r\nx\r\n"),
        (0.5, b"1\r\ny\r\n"),
        (0.6, b"0\r\n\r\n"),
        (0.85, b"1\r\nx\r\n"),
        (1.1, b"1\r\ny\r\n"),
        (1.2, b"0\r\n\r\n"),
    ]
    assert replay.requests_seen == 2
