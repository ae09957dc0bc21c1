"""The emulator on a loopback socket (wire.testing.serve), driven by wire's sans-IO client
over a plain blocking socket, and `wire serve` from the command line."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from typing import Any

import pytest

import wire
from wire import builders as build
from wire._connection import ClientConnection, JSONBody, ResponseComplete

pytest.importorskip("trio")

from wire.testing import serve

CFG = wire.APIConfig(api_key="sk-test")
HELLO = [{"role": "user", "content": "hello there"}]


def exchange(
    port: int, request: wire.Request, *, timeout: float = 10.0, sock: socket.socket | None = None
) -> tuple[list[Any], float]:
    """One request over a real socket; the events, and the seconds the answer took."""
    own = sock is None
    sock = sock or socket.create_connection(("127.0.0.1", port), timeout=timeout)
    client = ClientConnection(f"127.0.0.1:{port}")
    start = time.monotonic()
    try:
        sock.sendall(client.send_request(request))
        events: list[Any] = []
        while not events or not isinstance(events[-1], ResponseComplete):
            data = sock.recv(65536)
            events += client.receive_data(data)
            if not data:
                break
    finally:
        if own:
            sock.close()
    return events, time.monotonic() - start


def test_stream_over_loopback() -> None:
    with serve(seed=7) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        request = build.create_message(
            CFG, model="claude-opus-4-6", max_tokens=50, messages=HELLO, stream=True
        )
        events, _ = exchange(server.port, request)
    kinds = [type(e) for e in events]
    assert kinds[1] is wire.MessageStart
    assert wire.MessageStop in kinds
    assert events[-1] == ResponseComplete(reusable=True)


def test_keep_alive_over_one_socket() -> None:
    with serve() as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        with sock:
            for _ in range(3):
                events, _ = exchange(server.port, build.list_models(CFG), sock=sock)
                assert isinstance(events[1], JSONBody)
        assert server.emulator.requests_seen == 3


def test_stall_fault_delays_the_stream() -> None:
    with serve() as server:
        request = build.create_message(
            CFG,
            model="claude-opus-4-6",
            max_tokens=20,
            messages=HELLO,
            stream=True,
            extra_headers={"x-wire-fault": "stall=0.5"},
        )
        events, took = exchange(server.port, request)
    assert took >= 0.5
    assert wire.MessageStop in [type(e) for e in events]


def test_drop_fault_closes_the_socket() -> None:
    with serve() as server:
        request = build.create_message(
            CFG,
            model="claude-opus-4-6",
            max_tokens=50,
            messages=HELLO,
            stream=True,
            extra_headers={"x-wire-fault": "drop-after=200"},
        )
        events, _ = exchange(server.port, request)
    assert isinstance(events[-1], wire.StreamIncomplete)


def test_wrong_key_over_loopback() -> None:
    with serve(api_key="sk-right") as server:
        events, _ = exchange(server.port, build.list_models(CFG))
    assert isinstance(events[1].error, wire.AuthenticationError)


def test_wire_serve_prints_its_url_and_serves() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "wire", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == f"wire emulator listening on http://127.0.0.1:{port}"
        events, _ = exchange(port, build.get_model(CFG, "claude-opus-4-6"))
        assert isinstance(events[1], JSONBody)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # also closes the pipes


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes, read until the server closes or the answer is complete (bounded)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_every_trigger_is_answered_and_the_server_serves_on() -> None:
    from tests.test_emulator import TRIGGERS

    with serve() as server:
        for data, status, _ in TRIGGERS.values():
            answer = raw_exchange(server.port, data)
            assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:80]
        events, _ = exchange(server.port, build.list_models(CFG))
        assert isinstance(events[1], JSONBody)
    assert server.emulator.failures == []


def test_a_failure_stays_in_its_connection_and_serve_reraises_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wire.testing.emulator import Emulator

    real = Emulator._route

    def route(self: Emulator, request: Any, now: float) -> Any:
        if request.path == "/v1/boom":
            raise ZeroDivisionError("a bug")
        return real(self, request, now)

    monkeypatch.setattr(Emulator, "_route", route)

    def session() -> None:
        with serve() as server:
            headers = (("x-api-key", "k"), ("anthropic-version", "2023-06-01"))
            events, _ = exchange(server.port, wire.Request("GET", "/v1/boom", headers, b""))
            assert isinstance(events[1], wire.ErrorResponse)
            assert isinstance(events[1].error, wire.InternalServerError)
            events, _ = exchange(server.port, build.list_models(CFG))  # the others are served
            assert isinstance(events[1], JSONBody)

    with pytest.raises(ZeroDivisionError):
        session()  # re-raised when the block exits


def test_expect_100_continue_over_loopback() -> None:
    body = b'{"model":"claude-opus-4-6","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}'
    head = (
        b"POST /v1/messages HTTP/1.1\r\nhost: h\r\nx-api-key: k\r\n"
        b"anthropic-version: 2023-06-01\r\n"
        b"expect: 100-continue\r\ncontent-length: %d\r\n\r\n" % len(body)
    )
    with (
        serve() as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        sock.sendall(head)
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"  # at once, before any body byte
        sock.sendall(body)
        answer = b""
        while b'"usage"' not in answer:
            chunk = sock.recv(65536)
            assert chunk
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 ")


def test_a_huge_reply_does_not_hold_up_other_clients() -> None:
    with serve() as server:
        request = build.create_message(
            CFG,
            model="claude-opus-4-6",
            max_tokens=50,
            messages=HELLO,
            stream=True,
            extra_headers={"x-wire-fault": "malformed=long-line;chunk=1"},
        )
        slow = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        with slow:  # 17.8 million one-byte writes start, and are never read
            slow.sendall(ClientConnection(f"127.0.0.1:{server.port}").send_request(request))
            slow.recv(1024)
            events, _ = exchange(server.port, build.list_models(CFG))
            assert isinstance(events[1], JSONBody)


def test_the_sdk_streams_a_long_reply() -> None:
    anthropic = pytest.importorskip("anthropic")
    with serve(seed=3) as server:
        client = anthropic.Anthropic(api_key="sk-test", base_url=server.base_url, max_retries=0)
        kwargs: dict[str, Any] = {
            "model": "claude-opus-4-6",
            "max_tokens": 3000,
            "messages": HELLO,
            "extra_headers": {"x-wire-fault": "reply=long"},
        }
        created = client.messages.create(**kwargs)
        with client.messages.stream(**kwargs) as stream:
            deltas = sum(1 for event in stream if event.type == "content_block_delta")
            streamed = stream.get_final_message()
    assert deltas == 3000
    assert streamed.stop_reason == created.stop_reason == "max_tokens"
    assert streamed.usage.output_tokens == created.usage.output_tokens == 3000
    assert [b.model_dump() for b in streamed.content] == [b.model_dump() for b in created.content]
    assert len(created.content[0].text) > 3000  # type: ignore[union-attr,unused-ignore]
