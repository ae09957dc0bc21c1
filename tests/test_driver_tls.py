"""Every driver against the emulator over TLS, with a throwaway CA made by trustme.

A client given a context that trusts the CA creates, streams and reuses its
connection; a client without it (the default context: verification on)
fails with an `APIConnectionError` that names the host and says the
certificate is the problem, never a bare `ssl.SSLError`, never the key.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import pytest

import wire
from tests.drivers import DRIVERS
from wire.testing import serve

trustme = pytest.importorskip("trustme")

MODEL = "claude-opus-4-6"
USER = [{"role": "user", "content": "hello over tls"}]
KEY = "sk-tls-secret-key"


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest) -> Any:
    return DRIVERS[request.param]


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


@pytest.fixture(scope="module")
def trusting(ca: Any) -> ssl.SSLContext:
    """A client context that trusts the test CA (and verifies, as by default)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def server_context(ca: Any, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture(scope="module")
def server(ca: Any) -> Iterator[Any]:
    with serve(ssl_context=server_context(ca, "127.0.0.1", "localhost")) as running:
        yield running


def counted_connections(server: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the connections the emulator accepts from now on."""
    seen: list[int] = []
    original = server.emulator.connection

    def counted() -> Any:
        seen.append(1)
        return original()

    monkeypatch.setattr(server.emulator, "connection", counted)
    return seen


def text_of(message: wire.Message | None) -> str:
    assert message is not None
    return "".join(getattr(block, "text", "") for block in message.content)


def test_create_stream_and_keep_alive_over_verified_tls(
    driver: Any, server: Any, trusting: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert server.base_url.startswith("https://")
    seen = counted_connections(server, monkeypatch)
    options = {"api_key": KEY, "base_url": server.base_url, "proxy": None}
    with driver.client(ssl_context=trusting, **options) as client:
        message = client.create_message(model=MODEL, max_tokens=60, messages=USER)
        result = client.stream(model=MODEL, max_tokens=60, messages=USER)
        assert [result.events[0].type, result.events[-1].type] == ["message_start", "message_stop"]
        assert text_of(result.message) == text_of(message)
        assert client.count_tokens(model=MODEL, messages=USER) > 0
        assert client.idle_connections() == 1
    assert len(seen) == 1  # three calls, one TLS connection


def test_localhost_matches_the_certificate_too(
    driver: Any, server: Any, trusting: ssl.SSLContext
) -> None:
    url = f"https://localhost:{server.port}"
    with driver.client(api_key=KEY, base_url=url, proxy=None, ssl_context=trusting) as client:
        assert client.count_tokens(model=MODEL, messages=USER) > 0


def assert_certificate_error(error: wire.APIConnectionError, host: str) -> None:
    text = str(error)
    assert type(error) is wire.APIConnectionError  # not a timeout, not a subclass
    assert host in text
    assert "certificate" in text.lower()
    assert KEY not in text
    assert KEY not in repr(error)
    assert isinstance(error.__cause__, ssl.SSLCertVerificationError)


def test_verification_is_on_by_default(driver: Any, server: Any) -> None:
    """No `ssl_context`: the system's trust store, which does not know the test CA."""
    options = {"api_key": KEY, "base_url": server.base_url, "proxy": None, "max_retries": 0}
    with driver.client(**options) as client, pytest.raises(wire.APIConnectionError) as info:
        client.create_message(model=MODEL, max_tokens=20, messages=USER)
    assert_certificate_error(info.value, f"127.0.0.1:{server.port}")


def test_a_certificate_for_another_name_is_refused(
    driver: Any, ca: Any, trusting: ssl.SSLContext
) -> None:
    with serve(ssl_context=server_context(ca, "elsewhere.example")) as other:
        options = {"api_key": KEY, "base_url": other.base_url, "proxy": None, "max_retries": 0}
        with (
            driver.client(ssl_context=trusting, **options) as client,
            pytest.raises(wire.APIConnectionError) as info,
        ):
            client.count_tokens(model=MODEL, messages=USER)
        assert_certificate_error(info.value, f"127.0.0.1:{other.port}")
        assert other.emulator.requests_seen == 0  # nothing was sent to the wrong peer
