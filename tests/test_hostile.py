"""Every driver against hostile servers on loopback (tests/hostile.py), and failing connections.

Each misbehaviour runs against each driver with a short `Timeout` and
`max_retries=0`, and must end in its documented `WireError` (the table below)
within the deadline that applies (plus slack), hold under 64 MiB at its peak
(tracemalloc, every thread), leave nothing in the pool, and not be retried.
Connection failures (refused, an unknown name, a peer that hangs up or
resets) are `APIConnectionError`s naming the host and the cause.
"""

from __future__ import annotations

import socket
import struct
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wire
from tests.drivers import DRIVERS
from tests.hostile import JSON_SCRIPTS, PROXY_SCRIPTS, SCRIPTS, Hostile, Peer, Script, Stopped
from wire._call import Connect, Raise, Session

MODEL = "claude-opus-4-6"
USER = [{"role": "user", "content": "be nice"}]
KEY = "sk-hostile-secret-key"
TIMEOUT = wire.Timeout(connect=1.0, read=1.5, idle=1.5, stall=1.5, total=3.0)
SLACK = 1.5  # scheduling on a shared 2-core machine; a timeout case is late by this at most
PEAK = 64 * 2**20


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest) -> Any:
    return DRIVERS[request.param]


@dataclass(frozen=True)
class Outcome:
    """What a misbehaviour must end in: the exact error class, and its limit or timeout name."""

    error: type[wire.WireError]
    detail: str | None  # `SizeLimitError.limit` or `APITimeoutError.timeout`
    within: float  # seconds, before slack


LIMIT_FAST = TIMEOUT.read or 0.0  # a limit breach comes long before the read deadline
BOMB = "max_decompression_ratio"

OUTCOMES: dict[str, Outcome] = {
    "endless header lines": Outcome(wire.SizeLimitError, "max_header_bytes", LIMIT_FAST),
    "1 MiB header line": Outcome(wire.SizeLimitError, "max_header_bytes", LIMIT_FAST),
    # h11 takes the size; the body ends long before it: the stream is cut off.
    "chunk size 2**63": Outcome(wire.IncompleteStreamError, None, LIMIT_FAST),
    "broken chunked framing": Outcome(wire.RemoteProtocolError, None, LIMIT_FAST),
    "gzip bomb": Outcome(wire.DecompressionBombError, BOMB, LIMIT_FAST),
    "a line that never ends": Outcome(wire.LineTooLongError, "max_line_bytes", LIMIT_FAST),
    "an event that never ends": Outcome(wire.EventTooLargeError, "max_event_bytes", LIMIT_FAST),
    "no status line": Outcome(wire.RemoteProtocolError, None, LIMIT_FAST),
    # The 1xx heads before a final one are bounded together: endless ones are a breach.
    "1xx storm": Outcome(wire.SizeLimitError, "max_informational_bytes", LIMIT_FAST),
    # Bytes keep coming, so `read` never fires; no event completes: `idle` does.
    "one byte per second after message_start": Outcome(
        wire.APITimeoutError, "idle", TIMEOUT.idle or 0.0
    ),
    # TCP, then nothing: `connect` bounds TCP and the TLS handshake together.
    "TLS handshake stalls": Outcome(wire.APITimeoutError, "connect", TIMEOUT.connect or 0.0),
    # A buffered body (JSON, or an error page) is held whole, so it has its own bound.
    "JSON that never ends": Outcome(wire.BodyTooLargeError, "max_body_bytes", LIMIT_FAST),
    "gzip bomb as JSON": Outcome(wire.DecompressionBombError, BOMB, LIMIT_FAST),
    "an error page that never ends": Outcome(wire.BodyTooLargeError, "max_body_bytes", LIMIT_FAST),
    # A proxy: `connect` bounds the tunnel too (a 1xx storm included); a bad answer is a
    # `ProxyError` naming the proxy.
    "proxy stalls": Outcome(wire.APITimeoutError, "connect", TIMEOUT.connect or 0.0),
    "proxy sends endless header lines": Outcome(wire.ProxyError, None, LIMIT_FAST),
    "proxy 1xx storm": Outcome(wire.APITimeoutError, "connect", TIMEOUT.connect or 0.0),
    "proxy speaks first in the tunnel": Outcome(wire.ProxyError, None, LIMIT_FAST),
    "proxy sends no status line": Outcome(wire.ProxyError, None, LIMIT_FAST),
    "proxy hangs up": Outcome(wire.ProxyError, None, LIMIT_FAST),
}
PROXY_SECRET = "proxy-pw-secret"


def test_every_script_has_an_outcome() -> None:
    assert sorted(OUTCOMES) == sorted({**SCRIPTS, **JSON_SCRIPTS, **PROXY_SCRIPTS})


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The peak of traced memory (every thread) during the block, in `out[0]` after it."""
    out: list[int] = []
    tracemalloc.start()
    try:
        yield out
        out.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def run_against(driver: Any, name: str, script: Script, *, kind: str) -> None:
    """Run one misbehaviour against `driver` and check everything the module doc promises."""
    expected = OUTCOMES[name]
    with Hostile(script, tls=name.startswith("TLS")) as server, peak_memory() as peak:
        options: dict[str, Any] = {"base_url": server.base_url, "proxy": None}
        if kind == "proxy":  # the hostile server is the proxy; the target is never reached
            url = f"http://wire:{PROXY_SECRET}@127.0.0.1:{server.port}"
            options = {"base_url": "https://api.example.test", "proxy": url}
        with driver.client(api_key=KEY, timeout=TIMEOUT, max_retries=0, **options) as client:
            call = client.stream if kind == "stream" else client.create_message
            started = time.monotonic()
            with pytest.raises(wire.WireError) as info:
                call(model=MODEL, max_tokens=100, messages=USER)
            elapsed = time.monotonic() - started
            assert client.idle_connections() == 0
    error = info.value
    assert type(error) is expected.error, repr(error)
    if expected.detail is not None:
        assert expected.detail == getattr(error, "limit", getattr(error, "timeout", None))
    assert elapsed < expected.within + SLACK
    assert peak[0] < PEAK
    assert server.connections == 1  # max_retries=0: one attempt, one connection
    assert server.errors == []
    for secret in (KEY, PROXY_SECRET):
        assert secret not in str(error)
        assert secret not in repr(error)
    if isinstance(error, wire.IncompleteStreamError):
        assert error.partial_message is not None
        assert error.partial_message.id == "msg_hostile"
    if isinstance(error, wire.ProxyError):
        assert f"127.0.0.1:{server.port}" in str(error)


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_a_hostile_server_ends_a_stream_in_its_documented_error(driver: Any, name: str) -> None:
    run_against(driver, name, SCRIPTS[name], kind="stream")


@pytest.mark.parametrize("name", list(JSON_SCRIPTS))
def test_a_hostile_server_ends_a_json_call_in_its_documented_error(driver: Any, name: str) -> None:
    run_against(driver, name, JSON_SCRIPTS[name], kind="json")


@pytest.mark.parametrize("name", list(PROXY_SCRIPTS))
def test_a_hostile_proxy_ends_in_its_documented_error(driver: Any, name: str) -> None:
    run_against(driver, name, PROXY_SCRIPTS[name], kind="proxy")


# --- the 1xx bound, sans-IO --------------------------------------------------------------


FINAL = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
EARLY = b"HTTP/1.1 103 Early Hints\r\nlink: </a>; rel=preload\r\n\r\n"


@given(count=st.integers(0, 60), cuts=st.lists(st.integers(1, 400), max_size=30))
def test_1xx_heads_are_bounded_together(count: int, cuts: list[int]) -> None:
    """However the bytes are cut: within the limit the answer comes, past it a SizeLimitError."""
    limit = 1024
    connection = wire.ClientConnection("example.test", max_informational_bytes=limit)
    connection.send_request(wire.Request("GET", "/", (), b""))
    data = EARLY * count + FINAL
    pieces, at = [], 0
    for cut in cuts:
        pieces.append(data[at : at + cut])
        at += cut
    pieces.append(data[at:])

    def feed() -> list[Any]:
        return [event for piece in pieces if piece for event in connection.receive_data(piece)]

    if len(EARLY) * count > limit:
        with pytest.raises(wire.SizeLimitError) as info:
            feed()
        assert info.value.limit == "max_informational_bytes"
    else:
        assert isinstance(feed()[-1], wire.ResponseComplete)


def test_the_1xx_budget_is_per_response() -> None:
    """Each request gets the whole budget again: many responses with a few 1xx each pass."""
    connection = wire.ClientConnection("example.test", max_informational_bytes=1024)
    for _ in range(50):
        connection.send_request(wire.Request("GET", "/", (), b""))
        events = connection.receive_data(EARLY * 10 + FINAL)
        assert isinstance(events[-1], wire.ResponseComplete)


# --- connections that fail ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fail(driver: Any, base_url: str) -> wire.APIConnectionError:
    options = {"base_url": base_url, "proxy": None, "max_retries": 0, "timeout": TIMEOUT}
    with (
        driver.client(api_key=KEY, **options) as client,
        pytest.raises(wire.APIConnectionError) as info,
    ):
        client.create_message(model=MODEL, max_tokens=20, messages=USER)
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    assert not isinstance(info.value, wire.APITimeoutError)
    return info.value


def test_refused(driver: Any) -> None:
    port = free_port()
    error = fail(driver, f"http://127.0.0.1:{port}")
    assert f"127.0.0.1:{port}" in str(error)
    assert "refused" in str(error).lower()  # the cause, in words, whatever the driver
    assert isinstance(error.__cause__, OSError)


def test_a_name_that_does_not_resolve(driver: Any) -> None:
    started = time.monotonic()
    error = fail(driver, "http://nonexistent.invalid")
    assert time.monotonic() - started < (TIMEOUT.connect or 0) + SLACK
    assert "nonexistent.invalid" in str(error)
    assert str(error.__cause__) in str(error)  # the resolver's own words
    assert isinstance(error.__cause__, OSError)  # socket.gaierror


def test_a_failure_that_sums_up_attempts_names_them() -> None:
    """A driver's connect may fail with "all attempts failed" from a group of the real errors
    (trio does): the message names those too. Sans-IO: the call is told, no socket."""
    session = Session(KEY, base_url="http://127.0.0.1:9", proxy=None, max_retries=0)
    call = session.count_tokens(model=MODEL, messages=USER)
    assert isinstance(call.start(0.0), Connect)
    refused = ConnectionRefusedError(111, "Connection refused")
    summary = OSError("all attempts to connect to 127.0.0.1:9 failed")
    summary.__cause__ = ExceptionGroup("all attempts", [refused, refused])
    action = call.failed(summary, 0.1)
    assert isinstance(action, Raise)
    text = str(action.error)
    assert "127.0.0.1:9" in text
    assert text.count("Connection refused") == 1  # named once, however many attempts
    assert KEY not in text


def hang_up(peer: Peer) -> None:
    peer.read_request()
    raise Stopped  # closes without a byte


def reset(peer: Peer) -> None:
    peer.read_request()
    peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raise Stopped  # SO_LINGER 0: the close is a reset


@pytest.mark.parametrize("script", [hang_up, reset], ids=["hang up", "reset"])
def test_a_peer_that_goes_away_before_answering(driver: Any, script: Any) -> None:
    with Hostile(script) as server:
        error = fail(driver, server.base_url)
    assert f"127.0.0.1:{server.port}" in str(error)
    assert server.connections == 1
