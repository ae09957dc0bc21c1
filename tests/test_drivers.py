"""The drivers against real peers on loopback: the emulator in process, every endpoint and fault.

Each behavioural test takes the `driver` fixture (tests/drivers.py), so the
same suite runs on every driver: sync, trio and asyncio.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import wire
import wire.sync
from tests.drivers import DRIVERS
from wire.testing import serve

MODEL = "claude-opus-4-6"
USER = [{"role": "user", "content": "Tell me about the weather in Paris"}]
KEY = "sk-secret-test-key"
FAST = "retry-after=0.01"  # a server-named delay, so retries take milliseconds


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with serve(batch_seconds=0.2) as running:
        yield running


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest) -> Any:
    return DRIVERS[request.param]


def connections(server: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the connections the emulator accepts from now on."""
    seen: list[int] = []
    original = server.emulator.connection

    def counted() -> Any:
        seen.append(1)
        return original()

    monkeypatch.setattr(server.emulator, "connection", counted)
    return seen


def open_client(driver: Any, server: Any, fault: str | None = None, **options: Any) -> Any:
    headers = {"x-wire-fault": fault} if fault else None
    options.setdefault("proxy", None)
    return driver.client(api_key=KEY, base_url=server.base_url, default_headers=headers, **options)


def text_of(message: wire.Message | None) -> str:
    assert message is not None
    return "".join(getattr(block, "text", "") for block in message.content)


# --- every endpoint ------------------------------------------------------------------------


def test_messages_and_tokens(driver: Any, server: Any) -> None:
    with open_client(driver, server) as client:
        message = client.create_message(model=MODEL, max_tokens=60, messages=USER)
        assert message.stop_reason in ("end_turn", "max_tokens")
        result = client.stream(model=MODEL, max_tokens=60, messages=USER)
        assert result.events[0].type == "message_start"
        assert result.events[-1].type == "message_stop"
        assert text_of(result.message) == text_of(message)
        assert result.response is not None
        assert result.response.status == 200
        assert result.response.request_id
        assert client.count_tokens(model=MODEL, messages=USER) > 0


def test_models_paginate(driver: Any, server: Any) -> None:
    with open_client(driver, server) as client:
        everything = client.list_models()
        paged = client.list_models(limit=2)
        assert len(everything) > 2
        assert [m.id for m in paged] == [m.id for m in everything]
        assert client.get_model(everything[0].id).id == everything[0].id
        with pytest.raises(wire.NotFoundError):
            client.get_model("no-such-model")


def test_batches_end_to_end(driver: Any, server: Any) -> None:
    params = {"model": MODEL, "max_tokens": 20, "messages": USER}
    requests = [{"custom_id": f"r{i}", "params": params} for i in range(3)]
    with open_client(driver, server) as client:
        batch = client.create_batch(requests)
        assert batch.id in [b.id for b in client.list_batches()]
        deadline = time.monotonic() + 10
        while client.get_batch(batch.id).processing_status != "ended":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        results = client.batch_results(batch.id)
        assert sorted(r.custom_id for r in results) == ["r0", "r1", "r2"]
        assert client.delete_batch(batch.id).id == batch.id
        other = client.create_batch(requests)
        assert client.cancel_batch(other.id).id == other.id


# --- faults --------------------------------------------------------------------------------


def test_retries_then_success(driver: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve() as server:  # its own: `times` counts per server
        seen = connections(server, monkeypatch)
        with open_client(driver, server, f"status=529;{FAST};times=2") as client:
            message = client.create_message(model=MODEL, max_tokens=20, messages=USER)
            result = client.stream(model=MODEL, max_tokens=20, messages=USER)
        assert message.content
        assert result.events[-1].type == "message_stop"
        assert server.emulator.requests_seen == 4
        assert len(seen) == 1  # the error responses kept the connection alive


def test_give_up_after_max_retries(driver: Any, server: Any) -> None:
    before = server.emulator.requests_seen
    with (
        open_client(driver, server, f"status=529;{FAST}", max_retries=1) as client,
        pytest.raises(wire.OverloadedError) as info,
    ):
        client.stream(model=MODEL, max_tokens=20, messages=USER)
    assert server.emulator.requests_seen - before == 2
    assert info.value.status == 529
    assert KEY not in str(info.value)


def test_a_drop_mid_stream_raises_incomplete_with_the_partial_message(
    driver: Any, server: Any
) -> None:
    before = server.emulator.requests_seen
    with open_client(driver, server, "drop-after=1500") as client:
        with pytest.raises(wire.IncompleteStreamError) as info:
            client.stream(model=MODEL, max_tokens=200, messages=USER)
        assert client.idle_connections() == 0
    assert info.value.partial_message is not None
    assert server.emulator.requests_seen - before == 1  # never retried


def test_a_stall_raises_the_stall_timeout(driver: Any, server: Any) -> None:
    timeout = wire.Timeout(connect=5, read=10, idle=10, stall=0.3)
    with open_client(driver, server, "stall=3", timeout=timeout) as client:
        started = time.monotonic()
        with pytest.raises(wire.APITimeoutError) as info:
            client.stream(model=MODEL, max_tokens=200, messages=USER)
        assert time.monotonic() - started < 2.5
        assert client.idle_connections() == 0
    assert info.value.timeout == "stall"


def test_an_error_event_raises_its_subclass_with_status_200(driver: Any, server: Any) -> None:
    with (
        open_client(driver, server, "error-event=overloaded_error") as client,
        pytest.raises(wire.OverloadedError) as info,
    ):
        client.stream(model=MODEL, max_tokens=200, messages=USER)
    assert (info.value.status, info.value.type) == (200, "overloaded_error")


def test_an_idle_gap_raises_the_idle_timeout(driver: Any, server: Any) -> None:
    timeout = wire.Timeout(connect=5, read=10, idle=0.3, stall=10)
    with open_client(driver, server, "stall=3", timeout=timeout) as client:
        started = time.monotonic()
        with pytest.raises(wire.APITimeoutError) as info:
            client.stream(model=MODEL, max_tokens=200, messages=USER)
        assert time.monotonic() - started < 2.5
        assert client.idle_connections() == 0
    assert info.value.timeout == "idle"
    assert "idle" in str(info.value)


@pytest.mark.parametrize("fault", [None, "chunk=random", "chunk=7;gzip=1"])
def test_stream_message_is_the_message_of_the_events_given_so_far(
    driver: Any, server: Any, fault: str | None
) -> None:
    # Unpaced, the emulator's events come many to a read: the connection has decoded
    # them all, but `stream.message` must show only those the loop has been given.
    with open_client(driver, server, fault) as client:
        result = client.stream(model=MODEL, max_tokens=200, messages=USER)
    reference = wire.MessageAccumulator()
    assert len(result.messages) == len(result.events) > 10
    for event, message in zip(result.events, result.messages, strict=True):
        reference.feed(event)
        assert message == reference.message
    assert result.message == result.messages[-1]


@pytest.mark.parametrize("fault", ["gzip=1", "chunk=1", "chunk=1;gzip=1", "chunk=random"])
def test_encodings_and_chunkings_give_the_same_message(
    driver: Any, server: Any, fault: str
) -> None:
    with open_client(driver, server) as client:
        plain = client.stream(model=MODEL, max_tokens=60, messages=USER)
    with open_client(driver, server, fault) as client:
        other = client.stream(model=MODEL, max_tokens=60, messages=USER)
        again = client.create_message(model=MODEL, max_tokens=60, messages=USER)
    assert text_of(other.message) == text_of(plain.message) == text_of(again)
    assert [e.type for e in other.events] == [e.type for e in plain.events]


# --- connections ---------------------------------------------------------------------------


def test_keep_alive_reuse(driver: Any, server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = connections(server, monkeypatch)
    with open_client(driver, server) as client:
        for _ in range(3):
            client.stream(model=MODEL, max_tokens=20, messages=USER)
            client.count_tokens(model=MODEL, messages=USER)
        assert client.idle_connections() == 1
    assert len(seen) == 1


def test_leaving_a_stream_early_closes_its_connection(
    driver: Any, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = connections(server, monkeypatch)
    with open_client(driver, server) as client:
        partial = client.stream(stop_after=2, model=MODEL, max_tokens=200, messages=USER)
        assert len(partial.events) == 2
        assert client.idle_connections() == 0
        full = client.stream(model=MODEL, max_tokens=200, messages=USER)
        assert full.events[-1].type == "message_stop"
    assert len(seen) == 2


def test_threads_share_one_client(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = connections(server, monkeypatch)
    texts: list[str] = []
    errors: list[BaseException] = []
    with wire.sync.Client(KEY, base_url=server.base_url, proxy=None) as client:

        def work() -> None:
            try:
                for _ in range(4):
                    with client.stream_message(model=MODEL, max_tokens=60, messages=USER) as s:
                        for _event in s:
                            pass
                    texts.append(text_of(s.message))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(client._session.pool) <= 6
    assert not errors
    assert len(texts) == 24
    assert len(set(texts)) == 1
    assert len(seen) <= 6


def test_the_limiter_follows_the_server_and_waits_before_sending(driver: Any) -> None:
    # The server allows 2 requests a minute: the limiter learns it from the first answers'
    # headers, and the third call's wait (about 30 s) runs past `total`, so it is never sent.
    limiter = wire.Limiter()
    with (
        serve(requests_per_minute=2) as strict,
        open_client(driver, strict, limiter=limiter, timeout=wire.Timeout(total=1)) as client,
    ):
        client.create_message(model=MODEL, max_tokens=20, messages=USER)
        assert client.stream(model=MODEL, max_tokens=20, messages=USER).message is not None
        started = time.monotonic()
        with pytest.raises(wire.APITimeoutError) as info:
            client.create_message(model=MODEL, max_tokens=20, messages=USER)
        assert time.monotonic() - started < 0.5  # at once, not after a sleep
        assert strict.emulator.requests_seen == 2
    assert info.value.timeout == "total"


def test_connection_refused_names_the_host_never_the_key(driver: Any) -> None:
    with (
        open_client(driver, _Dead(), max_retries=0) as client,
        pytest.raises(wire.APIConnectionError) as info,
    ):
        client.count_tokens(model=MODEL, messages=USER)
    assert "127.0.0.1" in str(info.value)
    assert KEY not in str(info.value)
    assert not isinstance(info.value, wire.APITimeoutError)


def test_tls_to_a_plain_http_server_is_a_connection_error(driver: Any, server: Any) -> None:
    url = server.base_url.replace("http://", "https://")
    with (
        driver.client(api_key=KEY, base_url=url, max_retries=0, proxy=None) as client,
        pytest.raises(wire.APIConnectionError) as info,
    ):
        client.count_tokens(model=MODEL, messages=USER)
    assert "127.0.0.1" in str(info.value)


def test_a_wrong_key_is_an_authentication_error_without_the_key(driver: Any) -> None:
    with (
        serve(api_key="sk-right") as strict,
        open_client(driver, strict) as client,
        pytest.raises(wire.AuthenticationError) as info,
    ):
        client.count_tokens(model=MODEL, messages=USER)
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)


# --- proxies -------------------------------------------------------------------------------


def test_plain_http_through_a_proxy(driver: Any, server: Any) -> None:
    # The emulator reads an absolute-form target as a forward proxy would pass it on.
    with driver.client(api_key=KEY, base_url="http://api.invalid", proxy=server.base_url) as client:
        assert client.count_tokens(model=MODEL, messages=USER) > 0


def test_no_proxy_bypasses_the_environment_proxy(
    driver: Any, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_Dead().port}")
    monkeypatch.setenv("NO_PROXY", "localhost, 127.0.0.1")
    with driver.client(api_key=KEY, base_url=server.base_url) as client:
        assert client.count_tokens(model=MODEL, messages=USER) > 0
    monkeypatch.delenv("NO_PROXY")
    with (
        driver.client(api_key=KEY, base_url=server.base_url, max_retries=0) as client,
        pytest.raises(wire.APIConnectionError),
    ):
        client.count_tokens(model=MODEL, messages=USER)


class _Dead:
    """A loopback address where nothing listens (a port just released)."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"


def test_the_client_reads_the_environment(
    driver: Any, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    with driver.client(proxy=None) as client:
        assert client.count_tokens(model=MODEL, messages=USER) > 0
        assert KEY not in repr(client.client)
        assert repr(client.client).startswith(f"wire.{driver.name}.Client(")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(wire.InvalidParameterError, match="api_key"), driver.client():
        pass
