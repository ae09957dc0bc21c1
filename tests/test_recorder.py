"""The recording proxy (wire.testing.recorder), `Session.forward`, and `wire record`/`decode`.

Every test records from the emulator on loopback: wire.sync, the official SDK
and curl as clients; the capture is then checked against what the client got.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

import wire
import wire.sync
import wire.trio
from wire._call import Arrived
from wire._connection import ResponseHead
from wire.testing import serve
from wire.testing.capture import (
    FRAMING_HEADERS,
    CaptureWriter,
    Exchange,
    load_capture,
    read_capture,
)
from wire.testing.har import to_har
from wire.testing.recorder import Recorder, record

KEY = "sk-ant-api03-RecorderTestKey-9f8e7d"
MODEL = "claude-opus-4-6"
BODY = {"model": MODEL, "max_tokens": 24, "messages": [{"role": "user", "content": "hi"}]}
ROOT = Path(__file__).parent.parent
WIRE = [sys.executable, "-m", "wire"]


@contextlib.contextmanager
def recording(upstream: str, path: Path, **options: Any) -> Iterator[Recorder]:
    with (
        CaptureWriter.create(path, upstream=upstream) as writer,
        record(upstream, writer, proxy=None, **options) as recorder,
    ):
        yield recorder


def post(base_url: str, target: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """A plain `http.client` POST: the status and the body as the client got it."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def stream_body(**extra: Any) -> bytes:
    return json.dumps({**BODY, "stream": True, **extra}).encode()


HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}


def check_timeline(exchange: Exchange) -> None:
    """Head, reads and end in the order and at the times they came."""
    assert exchange.response is not None
    assert exchange.end is not None
    times = [exchange.response.t, *(r.t for r in exchange.reads), exchange.end.t]
    assert times == sorted(times)
    assert times[0] >= 0
    assert exchange.at > 1_600_000_000  # epoch seconds


# --- Session.forward ------------------------------------------------------------------------


def test_forward_delivers_the_head_and_raw_pieces_and_never_retries() -> None:
    async def main(base_url: str) -> list[Arrived]:
        async with wire.trio.Client(api_key="unused", base_url=base_url, proxy=None) as client:
            headers = [*HEADERS.items(), ("x-wire-fault", "status=529")]
            pieces = client.forward("POST", "/v1/messages", headers, stream_body())
            async with contextlib.aclosing(pieces):
                return [arrived async for arrived in pieces]

    with serve() as server:
        arrived = trio.run(main, server.base_url)
        assert server.emulator.requests_seen == 1  # 529 is retryable, but a forward never retries
    head = arrived[0].value
    assert isinstance(head, ResponseHead)
    assert head.status == 529
    body = b"".join(a.value for a in arrived[1:] if isinstance(a.value, bytes))
    assert json.loads(body)["error"]["type"] == "overloaded_error"  # delivered, not raised
    assert [a.at for a in arrived] == sorted(a.at for a in arrived)


# --- recording ------------------------------------------------------------------------------


def test_the_client_gets_the_emulators_bytes_and_the_capture_holds_them(tmp_path: Path) -> None:
    body = stream_body()
    with serve(seed=7, pace=400) as direct:
        _, expected = post(direct.base_url, "/v1/messages", body, HEADERS)
    path = tmp_path / "c.wirecap"
    with serve(seed=7, pace=400) as server, recording(server.base_url, path) as recorder:
        status, got = post(recorder.base_url, "/v1/messages?beta=true", body, HEADERS)
    assert status == 200
    assert got == expected  # same seed, same request: the same bytes, through the proxy
    (exchange,) = read_capture(path)
    assert exchange.body == got
    assert len(exchange.reads) > 1  # paced: the body came in several reads, kept apart
    check_timeline(exchange)
    assert exchange.end is not None
    assert exchange.end.complete
    assert exchange.request.target == "/v1/messages?beta=true"
    assert json.loads(exchange.request.body) == json.loads(body)
    assert exchange.response is not None
    names = {name for name, _ in exchange.response.headers}
    assert "request-id" in names
    assert not names & FRAMING_HEADERS


def test_wire_sync_through_the_recorder_gets_the_recorded_events(tmp_path: Path) -> None:
    path = tmp_path / "c.wirecap"
    with serve() as server, recording(server.base_url, path) as recorder:
        with wire.sync.Client(api_key=KEY, base_url=recorder.base_url, proxy=None) as client:
            with client.stream_message(**BODY) as stream:
                events = list(stream)
            count = client.count_tokens(model=MODEL, messages=BODY["messages"])
        with wire.sync.Client(auth_token=KEY, base_url=recorder.base_url, proxy=None) as bearer:
            models = list(bearer.list_models())
    assert count > 0
    assert models
    streamed, counted, listed = read_capture(path)
    assert wire.MessageStreamDecoder().feed(streamed.body) == events
    assert json.loads(counted.body) == {"input_tokens": count}
    assert listed.request.method == "GET"
    assert listed.request.target.startswith("/v1/models")
    data = path.read_bytes()
    assert KEY.encode() not in data  # x-api-key and Bearer alike
    assert data.count(b'"[redacted]"') >= 3


def test_the_key_in_the_target_and_body_is_redacted(tmp_path: Path) -> None:
    path = tmp_path / "c.wirecap"
    body = json.dumps({**BODY, "metadata": {"user_id": KEY}}).encode()
    with serve() as server, recording(server.base_url, path) as recorder:
        status, _ = post(recorder.base_url, f"/v1/messages?k={KEY}", body, HEADERS)
    assert status == 200
    data = path.read_bytes()
    assert KEY.encode() not in data
    (exchange,) = read_capture(path)
    assert exchange.request.target == "/v1/messages?k=[redacted]"


def test_the_official_sdk_records_through_the_recorder(tmp_path: Path) -> None:
    anthropic = pytest.importorskip("anthropic")
    path = tmp_path / "c.wirecap"
    with serve() as server, recording(server.base_url, path) as recorder:
        client = anthropic.Anthropic(api_key=KEY, base_url=recorder.base_url, max_retries=0)
        with client, client.messages.stream(**BODY) as stream:
            text = stream.get_final_text()
            request_id = stream.response.headers["request-id"]
    (exchange,) = read_capture(path)
    message = wire.MessageStreamDecoder()
    message.feed(exchange.body)
    assert message.message is not None
    texts = [b.text for b in message.message.content if isinstance(b, wire.TextBlock)]
    assert "".join(texts) == text
    assert exchange.response is not None
    assert dict(exchange.response.headers)["request-id"] == request_id
    check_timeline(exchange)
    assert KEY.encode() not in path.read_bytes()


def test_curl_records_through_the_recorder(tmp_path: Path) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    path = tmp_path / "c.wirecap"
    with serve() as server, recording(server.base_url, path) as recorder:
        command = [curl, "-sS", "-N", "--max-time", "30", "--data-binary", "@-"]
        for name, value in HEADERS.items():
            command += ["-H", f"{name}: {value}"]
        done = subprocess.run(
            [*command, f"{recorder.base_url}/v1/messages"],
            input=stream_body(),
            capture_output=True,
            timeout=60,
            check=True,
        )
    (exchange,) = read_capture(path)
    assert exchange.body == done.stdout
    assert b"event: message_stop" in done.stdout
    assert KEY.encode() not in path.read_bytes()


def test_an_upstream_cut_off_is_recorded_incomplete_and_passed_on(tmp_path: Path) -> None:
    path = tmp_path / "c.wirecap"
    with serve() as server, recording(server.base_url, path) as recorder:
        fault = {"x-wire-fault": "drop-after=300"}
        with (
            wire.sync.Client(
                api_key=KEY,
                base_url=recorder.base_url,
                proxy=None,
                max_retries=0,
                default_headers=fault,
            ) as client,
            pytest.raises(wire.IncompleteStreamError),
            client.stream_message(**BODY) as stream,
        ):
            list(stream)
    (exchange,) = read_capture(path)
    assert exchange.end is not None
    assert exchange.end.complete is False
    assert exchange.end.error
    assert len(exchange.body) == 300
    assert exchange.response is not None
    assert exchange.response.status == 200


def test_gzip_upstream_is_recorded_and_passed_on_decoded(tmp_path: Path) -> None:
    path = tmp_path / "c.wirecap"
    headers = {**HEADERS, "x-wire-fault": "gzip=1", "accept-encoding": "gzip"}
    with serve() as server, recording(server.base_url, path) as recorder:
        status, got = post(recorder.base_url, "/v1/messages", stream_body(), headers)
    assert status == 200
    assert got.startswith(b"event: message_start")
    (exchange,) = read_capture(path)
    assert exchange.body == got
    assert exchange.response is not None
    assert "content-encoding" not in dict(exchange.response.headers)


def test_an_upstream_that_does_not_answer_gets_a_502_and_an_end_without_response(
    tmp_path: Path,
) -> None:
    with serve() as server:
        dead = server.base_url  # stopped at the end of the block: nothing listens there
    path = tmp_path / "c.wirecap"
    with recording(dead, path, timeout=5) as recorder:
        status, got = post(recorder.base_url, "/v1/messages", stream_body(), HEADERS)
    assert status == 502
    assert json.loads(got)["error"]["type"] == "api_error"
    (exchange,) = read_capture(path)
    assert exchange.response is None
    assert exchange.end is not None
    assert not exchange.end.complete
    assert "APIConnectionError" in (exchange.end.error or "")
    # the client read the recorded error, so a replay can answer the same words
    message = json.loads(got)["error"]["message"]
    assert message == f"wire record: upstream failed: {exchange.end.error}"
    with serve(replay=path, speed=0) as replay:
        status, again = post(replay.base_url, "/v1/messages", stream_body(), HEADERS)
    assert status == 502
    assert json.loads(again)["error"] == json.loads(got)["error"]


def test_hop_by_hop_headers_stay_and_the_clients_own_go(tmp_path: Path) -> None:
    """Two recorders in a row: the second records what the first forwarded."""
    outer, inner = tmp_path / "outer.wirecap", tmp_path / "inner.wirecap"
    headers = {
        **HEADERS,
        "connection": "keep-alive, x-hop",
        "x-hop": "1",
        "keep-alive": "timeout=5",
        "te": "trailers",
        "anthropic-beta": "some-beta-2026-01-01",
    }
    with (
        serve(lenient=True) as server,  # lenient: it takes a beta it does not know
        recording(server.base_url, inner) as second,
        recording(second.base_url, outer) as first,
    ):
        status, _ = post(first.base_url, "/v1/messages", json.dumps(BODY).encode(), headers)
    assert status == 200
    (sent,) = read_capture(inner)
    names = {name for name, _ in sent.request.headers}
    assert {"x-api-key", "anthropic-version", "anthropic-beta", "content-type"} <= names
    assert not names & {"x-hop", "keep-alive", "te"}
    assert dict(sent.request.headers)["anthropic-beta"] == "some-beta-2026-01-01"
    (received,) = read_capture(outer)
    assert dict(received.request.headers)["x-hop"] == "1"  # as the client sent it


def test_concurrent_clients_are_recorded_as_separate_exchanges(tmp_path: Path) -> None:
    path = tmp_path / "c.wirecap"
    results: dict[int, bytes] = {}
    with serve(pace=300) as server, recording(server.base_url, path) as recorder:

        def one(n: int) -> None:
            body = stream_body(messages=[{"role": "user", "content": f"client {n}"}])
            results[n] = post(recorder.base_url, "/v1/messages", body, HEADERS)[1]

        threads = [threading.Thread(target=one, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    exchanges = read_capture(path)
    assert sorted(e.id for e in exchanges) == [1, 2, 3, 4]
    by_prompt = {json.loads(e.request.body)["messages"][0]["content"]: e for e in exchanges}
    for n, got in results.items():
        exchange = by_prompt[f"client {n}"]
        assert exchange.body == got
        check_timeline(exchange)


# --- the command line -----------------------------------------------------------------------


def wire_cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "wire", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


@pytest.fixture(scope="module")
def capture_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A capture of a stream, a JSON answer and a stream cut off."""
    path = tmp_path_factory.mktemp("cap") / "c.wirecap"
    with serve() as server, recording(server.base_url, path) as recorder:
        post(recorder.base_url, "/v1/messages", stream_body(), HEADERS)
        post(recorder.base_url, "/v1/messages", json.dumps(BODY).encode(), HEADERS)
        with contextlib.suppress(http.client.HTTPException):
            fault = {**HEADERS, "x-wire-fault": "drop-after=200"}
            post(recorder.base_url, "/v1/messages", stream_body(), fault)
    return path


def test_wire_decode_reads_a_capture(capture_file: Path) -> None:
    done = wire_cli("decode", str(capture_file), "--exchange", "1")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["type"] == "message_start"
    assert events[-1]["type"] == "message_stop"
    assert b"exchange 1: POST /v1/messages" in done.stderr
    every = wire_cli("decode", str(capture_file))  # every stream: 1, then 3 (cut off)
    assert every.returncode == 1
    assert b"exchange 3" in every.stderr
    assert b"IncompleteStreamError" in every.stderr
    assert every.stdout.startswith(done.stdout)
    piped = wire_cli("decode", "-", "--exchange", "1", stdin=capture_file.read_bytes())
    assert piped.stdout == done.stdout
    message = wire_cli("decode", "--message", str(capture_file), "--exchange", "1")
    assert json.loads(message.stdout)["type"] == "message"
    assert wire_cli("decode", str(capture_file), "--exchange", "9").returncode == 1


def test_wire_decode_still_reads_raw_sse(capture_file: Path, tmp_path: Path) -> None:
    (first, *_) = read_capture(capture_file)
    raw = tmp_path / "raw.sse"
    raw.write_bytes(first.body)
    assert (
        wire_cli("decode", str(raw)).stdout
        == wire_cli("decode", str(capture_file), "--exchange", "1").stdout
    )


def test_wire_record_to_har(capture_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.har"
    done = wire_cli("record", "--to-har", str(capture_file), "--out", str(out))
    assert done.returncode == 0, done.stderr
    har = json.loads(out.read_text(encoding="utf-8"))
    assert har == json.loads(json.dumps(to_har(load_capture(capture_file))))
    entries = har["log"]["entries"]
    assert [e["response"]["status"] for e in entries] == [200, 200, 200]
    assert entries[0]["response"]["content"]["mimeType"].startswith("text/event-stream")
    assert entries[2]["_complete"] is False
    stdout = wire_cli("record", "--to-har", str(capture_file))
    assert json.loads(stdout.stdout) == har
    bad = tmp_path / "bad.wirecap"
    bad.write_text("hello\n")
    failed = wire_cli("record", "--to-har", str(bad))
    assert failed.returncode == 1
    assert failed.stderr.startswith(b"wire: error: CaptureError: capture line 1")


def test_wire_record_needs_its_options(tmp_path: Path) -> None:
    done = wire_cli("record", "--out", str(tmp_path / "x"))
    assert done.returncode == 2
    assert b"--upstream" in done.stderr
    bad = wire_cli("record", "--upstream", "ftp://x", "--out", str(tmp_path / "x"))
    assert bad.returncode == 1
    assert b"base_url" in bad.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_wire_record_runs_until_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "c.wirecap"
    with serve() as server:
        command = [*WIRE, "record", "--upstream", server.base_url, "--port", "0"]
        process = subprocess.Popen(
            [*command, "--out", str(path), "--client-timeout", "0.5"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "NO_PROXY": "*"},
        )
        try:
            assert process.stdout is not None
            ready = process.stdout.readline().decode()
            assert ready.startswith("wire record: http://127.0.0.1:")
            base_url = ready.split()[2]
            status, _ = post(base_url, "/v1/messages", json.dumps(BODY).encode(), HEADERS)
            assert status == 200
            assert process.stderr is not None
            line = process.stderr.readline().decode()
            assert line.startswith("wire record: #1 POST /v1/messages -> 200")
            host, port = base_url.removeprefix("http://").rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=30) as stalled:
                stalled.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\n")  # then nothing
                assert stalled.recv(64).startswith(b"HTTP/1.1 408 ")  # --client-timeout 0.5
        finally:
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    (exchange,) = read_capture(path)
    assert exchange.end is not None
    assert exchange.end.complete
    assert KEY.encode() not in path.read_bytes()
    assert isinstance(load_capture(io.BytesIO(path.read_bytes())).upstream, str)


def test_one_client_connection_carries_several_requests_head_included(tmp_path: Path) -> None:
    path = tmp_path / "c.wirecap"
    with serve() as server, recording(server.base_url, path) as recorder:
        host, port = recorder.base_url.removeprefix("http://").rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            answers = []
            for method in ("HEAD", "GET"):
                connection.request(method, "/v1/models", headers=HEADERS)
                response = connection.getresponse()
                answers.append((response.status, response.read()))
            connection.request("GET", "/v1/models", headers={**HEADERS, "x-odd": "caf\xe9"})
            refused = connection.getresponse()
            assert refused.status == 502  # wire's client sends ASCII headers only
            refused.read()
        finally:
            connection.close()
    assert answers[0] == (200, b"")
    assert answers[1][0] == 200
    assert json.loads(answers[1][1])["data"]
    head, get, odd = read_capture(path)
    assert (head.request.method, head.body, get.body) == ("HEAD", b"", answers[1][1])
    assert odd.response is None
    assert odd.end is not None
    assert "must be ASCII" in (odd.end.error or "")


def test_session_forward_on_a_fake_clock_sends_only_the_callers_headers() -> None:
    """The sans-IO call: the session's own key is never sent; a 500 is delivered raw,
    piece by piece with each read's time; a body cut off raises after its pieces."""
    from wire._call import Connect, Deliver, Raise, Receive, Send, Session

    session = Session(api_key="session-key-never-sent", base_url="http://up.test/pfx")
    call = session.forward("POST", "/v1/messages", [("x-api-key", "callers")], b"{}")
    assert isinstance(call.start(0.0), Connect)
    sent = call.connected("handle", 0.0)
    assert isinstance(sent, Send)
    assert sent.data.startswith(b"POST /pfx/v1/messages HTTP/1.1\r\n")
    assert b"x-api-key: callers\r\n" in sent.data
    assert b"session-key-never-sent" not in sent.data
    assert isinstance(call.next(0.1), Receive)
    head = b"HTTP/1.1 500 Oops\r\ntransfer-encoding: chunked\r\ncontent-type: text/plain\r\n\r\n"
    delivered = call.received(head + b"3\r\nabc\r\n", 0.5)
    assert isinstance(delivered, Deliver)
    first = list(delivered.items)
    assert [a.at for a in first] == [0.5, 0.5]
    assert isinstance(first[0].value, ResponseHead)
    assert first[0].value.status == 500
    assert first[1].value == b"abc"
    assert isinstance(call.next(0.5), Receive)
    more = call.received(b"2\r\nde\r\n", 0.75)
    assert isinstance(more, Deliver)
    assert list(more.items) == [Arrived(0.75, b"de")]
    assert isinstance(call.next(0.75), Receive)
    action = call.received(b"", 1.0)  # cut off mid-body: closed, then raised, not retried
    while not isinstance(action, Raise):
        action = call.next(1.0)
    assert isinstance(action.error, wire.IncompleteBodyError)
    assert call.attempts == 1


# --- what the recorder cannot record, and clients that stall ----------------------------------


def test_a_key_the_capture_cannot_redact_is_refused_not_forwarded(tmp_path: Path) -> None:
    path = tmp_path / "c.wirecap"
    lines: list[str] = []
    long_key = "sk-ant-" + "k" * 5_000
    with serve() as emulator, recording(emulator.base_url, path, on_exchange=lines.append) as rec:
        status, got = post(rec.base_url, "/v1/messages", b"{}", {**HEADERS, "x-api-key": long_key})
        assert status == 400
        error = json.loads(got)["error"]
        assert error["type"] == "invalid_request_error"
        assert "not forwarded" in error["message"]
        assert post(rec.base_url, "/v1/messages", stream_body(), HEADERS)[0] == 200  # others go on
    data = path.read_bytes()
    assert b"kkkkkkkk" not in data
    assert [e.request.target for e in read_capture(path)] == ["/v1/messages"]
    assert "-> 400" in lines[0]
    assert "not forwarded" in lines[0]


def status_of(base_url: str) -> int:
    """A streamed POST's status; its body may be cut off (the capture filled up)."""
    try:
        return post(base_url, "/v1/messages", stream_body(), HEADERS)[0]
    except http.client.IncompleteRead:
        return 200


def test_a_full_capture_refuses_further_requests_and_stays_readable(tmp_path: Path) -> None:
    path = tmp_path / "c.wirecap"
    limit = 16_000
    with (
        serve() as emulator,
        CaptureWriter.create(path, upstream=emulator.base_url, max_capture_bytes=limit) as out,
        record(emulator.base_url, out, proxy=None) as recorder,
    ):
        statuses = [status_of(recorder.base_url) for _ in range(12)]
        status, got = post(recorder.base_url, "/v1/messages", stream_body(), HEADERS)
    assert statuses[0] == 200
    assert status == 507
    assert "max_capture_bytes" in json.loads(got)["error"]["message"]
    assert path.stat().st_size <= limit
    exchanges = load_capture(path, max_capture_bytes=limit).exchanges
    assert exchanges
    assert all(e.end is not None for e in exchanges)


def test_a_body_the_reader_could_not_read_gets_413_and_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "c.wirecap"
    with (
        serve() as emulator,
        CaptureWriter.create(path, upstream=emulator.base_url, max_line_bytes=8_000) as out,
        record(emulator.base_url, out, proxy=None) as recorder,
    ):
        status, got = post(recorder.base_url, "/v1/messages", b'"' + b"x" * 9_000 + b'"', HEADERS)
    assert status == 413
    assert json.loads(got)["error"]["type"] == "request_too_large"
    assert read_capture(path) == []


def raw_client(base_url: str) -> socket.socket:
    """A plain socket to the recorder (each recv bounded at 30 s)."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=30)


@pytest.mark.parametrize("sent", [b"POST /v1/messages HTTP/1.1\r\nhost: x\r\n", b"", b"POST /v1"])
def test_a_client_that_stalls_is_cut_off_after_client_timeout(sent: bytes, tmp_path: Path) -> None:
    with (
        serve() as emulator,
        recording(emulator.base_url, tmp_path / "c", client_timeout=0.3) as rec,
    ):
        with raw_client(rec.base_url) as sock:
            sock.sendall(sent)
            got = b""
            while chunk := sock.recv(65536):  # the recorder closes: bounded by its timeout
                got += chunk
        if sent:
            assert got.startswith(b"HTTP/1.1 408 ")
            assert b"timeout_error" in got
        else:  # idle between requests: closed without an answer
            assert got == b""
        assert post(rec.base_url, "/v1/messages", stream_body(), HEADERS)[0] == 200


def test_a_partial_body_that_stalls_is_cut_off(tmp_path: Path) -> None:
    head = b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"
    with (
        serve() as emulator,
        recording(emulator.base_url, tmp_path / "c", client_timeout=0.3) as rec,
        raw_client(rec.base_url) as sock,
    ):
        sock.sendall(head)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    assert got.startswith(b"HTTP/1.1 408 ")
    assert read_capture(tmp_path / "c") == []


@pytest.mark.parametrize("value", [0, -1, float("nan"), "5", True])
def test_client_timeout_is_checked(value: object, tmp_path: Path) -> None:
    with (
        CaptureWriter.create(tmp_path / "c", upstream="http://127.0.0.1:9") as writer,
        pytest.raises(ValueError, match="client_timeout"),
        record("http://127.0.0.1:9", writer, client_timeout=value),
    ):
        pass
