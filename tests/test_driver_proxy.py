"""Every driver through a real forward proxy: Debian's tinyproxy on a loopback port.

Plain HTTP goes to the proxy in absolute form; HTTPS through a CONNECT tunnel
to the emulator over TLS (trustme CA). Credentials in the proxy URL become
`Proxy-Authorization`; a refusal is a `ProxyError` whose text names the proxy
and never the credentials. `proxy="env"` reads the environment when the
client is made (patched here with monkeypatch), `NO_PROXY` bypasses it, and
`proxy=None` ignores it. Whether a request went through the proxy is read from
the proxy's own log.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

import wire
from tests.drivers import DRIVERS
from tests.proxy import Proxy, tinyproxy, tinyproxy_auth
from wire.testing import serve

trustme = pytest.importorskip("trustme")

__all__ = ["tinyproxy", "tinyproxy_auth"]  # fixtures, used by name below

MODEL = "claude-opus-4-6"
USER = [{"role": "user", "content": "through a proxy"}]
KEY = "sk-proxy-secret-key"
PROXY_VARIABLES = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD"]


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest) -> Any:
    return DRIVERS[request.param]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variable from the machine running the tests leaks in (either case)."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


@pytest.fixture(scope="module")
def trusting(ca: Any) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture(scope="module")
def http_server() -> Iterator[Any]:
    with serve() as running:
        yield running


@pytest.fixture(scope="module")
def tls_server(ca: Any) -> Iterator[Any]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with serve(ssl_context=context) as running:
        yield running


def proxied(proxy: Proxy) -> list[str]:
    """The request lines the proxy has logged so far (`POST http://...`, `CONNECT h:p`)."""
    return re.findall(r"Request \(file descriptor \d+\): (.*)", proxy.log())


def dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def exercise(client: Any) -> None:
    """Create, stream and count: three calls, each checked."""
    message = client.create_message(model=MODEL, max_tokens=40, messages=USER)
    assert message.content
    result = client.stream(model=MODEL, max_tokens=40, messages=USER)
    assert [result.events[0].type, result.events[-1].type] == ["message_start", "message_stop"]
    assert client.count_tokens(model=MODEL, messages=USER) > 0


# --- plain HTTP and CONNECT ---------------------------------------------------------------


def test_plain_http_goes_to_the_proxy_in_absolute_form(
    driver: Any, tinyproxy: Proxy, http_server: Any
) -> None:
    before = len(proxied(tinyproxy))
    options = {"api_key": KEY, "base_url": http_server.base_url, "proxy": tinyproxy.url}
    with driver.client(**options) as client:
        exercise(client)
    lines = proxied(tinyproxy)[before:]
    origin = f"http://127.0.0.1:{http_server.port}"
    assert lines == [
        f"POST {origin}/v1/messages HTTP/1.1",
        f"POST {origin}/v1/messages HTTP/1.1",
        f"POST {origin}/v1/messages/count_tokens HTTP/1.1",
    ]


def test_https_goes_through_one_connect_tunnel(
    driver: Any, tinyproxy: Proxy, tls_server: Any, trusting: ssl.SSLContext
) -> None:
    before = len(proxied(tinyproxy))
    options = {"api_key": KEY, "base_url": tls_server.base_url, "proxy": tinyproxy.url}
    with driver.client(ssl_context=trusting, **options) as client:
        exercise(client)
        assert client.idle_connections() == 1
    # Three calls in one tunnel: the TLS connection inside it is kept alive.
    assert proxied(tinyproxy)[before:] == [f"CONNECT 127.0.0.1:{tls_server.port} HTTP/1.1"]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_credentials_in_the_proxy_url_are_sent(
    driver: Any,
    scheme: str,
    tinyproxy_auth: Proxy,
    http_server: Any,
    tls_server: Any,
    trusting: ssl.SSLContext,
) -> None:
    server = tls_server if scheme == "https" else http_server
    options = {"api_key": KEY, "base_url": server.base_url, "proxy": tinyproxy_auth.auth_url}
    with driver.client(ssl_context=trusting, **options) as client:
        exercise(client)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_407_is_a_proxy_error_that_says_credentials_are_missing(
    driver: Any,
    scheme: str,
    tinyproxy_auth: Proxy,
    http_server: Any,
    tls_server: Any,
    trusting: ssl.SSLContext,
) -> None:
    server = tls_server if scheme == "https" else http_server
    before = server.emulator.requests_seen
    options = {"api_key": KEY, "base_url": server.base_url, "max_retries": 0}
    with (
        driver.client(proxy=tinyproxy_auth.url, ssl_context=trusting, **options) as client,
        pytest.raises(wire.ProxyError) as info,
    ):
        client.create_message(model=MODEL, max_tokens=20, messages=USER)
    error = info.value
    assert error.status == 407
    assert tinyproxy_auth.url in str(error)
    assert "no credentials" in str(error)
    assert KEY not in str(error)
    assert server.emulator.requests_seen == before  # nothing got past the proxy


def test_refused_credentials_are_not_shown(
    driver: Any, tinyproxy_auth: Proxy, tls_server: Any, trusting: ssl.SSLContext
) -> None:
    password = "not-the-password-42"
    url = f"http://{tinyproxy_auth.user}:{password}@127.0.0.1:{tinyproxy_auth.port}"
    options = {"api_key": KEY, "base_url": tls_server.base_url, "max_retries": 0}
    with (
        driver.client(proxy=url, ssl_context=trusting, **options) as client,
        pytest.raises(wire.ProxyError) as info,
    ):
        client.count_tokens(model=MODEL, messages=USER)
    error = info.value
    assert error.status in (401, 407)  # tinyproxy answers wrong credentials with 401
    assert tinyproxy_auth.url in str(error)
    for secret in (password, f"{tinyproxy_auth.user}:", KEY):
        assert secret not in str(error)
        assert secret not in repr(error)
    assert password not in repr(client)


def test_a_dead_proxy_is_a_connection_error_naming_it(driver: Any, tls_server: Any) -> None:
    port = dead_port()
    options = {"api_key": KEY, "base_url": tls_server.base_url, "max_retries": 0}
    with (
        driver.client(proxy=f"http://u:secret-pw@127.0.0.1:{port}", **options) as client,
        pytest.raises(wire.APIConnectionError) as info,
    ):
        client.count_tokens(model=MODEL, messages=USER)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "secret-pw" not in str(info.value)
    assert not isinstance(info.value, wire.APITimeoutError)


# --- the environment ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_env_proxy_is_used_for_https(
    driver: Any,
    name: str,
    tinyproxy: Proxy,
    tls_server: Any,
    trusting: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(name, tinyproxy.url)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead_port()}")  # for http:// only
    before = len(proxied(tinyproxy))
    options = {"api_key": KEY, "base_url": tls_server.base_url, "ssl_context": trusting}
    with driver.client(**options) as client:  # proxy="env" is the default
        assert client.count_tokens(model=MODEL, messages=USER) > 0
    assert proxied(tinyproxy)[before:] == [f"CONNECT 127.0.0.1:{tls_server.port} HTTP/1.1"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest.mark.parametrize("no_proxy", ["localhost,127.0.0.1", " 127.0.0.1 , localhost ", "*"])
def test_no_proxy_bypasses_the_env_proxy(
    driver: Any,
    host: str,
    no_proxy: str,
    tinyproxy: Proxy,
    tls_server: Any,
    trusting: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", tinyproxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    before = len(proxied(tinyproxy))
    url = f"https://{host}:{tls_server.port}"
    with driver.client(api_key=KEY, base_url=url, ssl_context=trusting) as client:
        assert client.count_tokens(model=MODEL, messages=USER) > 0
    assert proxied(tinyproxy)[before:] == []


def test_no_proxy_for_another_host_keeps_the_proxy(
    driver: Any,
    tinyproxy: Proxy,
    tls_server: Any,
    trusting: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", tinyproxy.url)
    monkeypatch.setenv("NO_PROXY", "example.com,127.0.0.2,127.0.0.10")
    before = len(proxied(tinyproxy))
    options = {"api_key": KEY, "base_url": tls_server.base_url, "ssl_context": trusting}
    with driver.client(**options) as client:
        assert client.count_tokens(model=MODEL, messages=USER) > 0
    assert len(proxied(tinyproxy)[before:]) == 1


def test_env_proxy_with_credentials(
    driver: Any,
    tinyproxy_auth: Proxy,
    tls_server: Any,
    trusting: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", tinyproxy_auth.auth_url)
    options = {"api_key": KEY, "base_url": tls_server.base_url, "ssl_context": trusting}
    with driver.client(**options) as client:
        assert client.count_tokens(model=MODEL, messages=USER) > 0


def test_proxy_none_ignores_the_environment(
    driver: Any,
    tinyproxy: Proxy,
    http_server: Any,
    tls_server: Any,
    trusting: ssl.SSLContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead = f"http://127.0.0.1:{dead_port()}"
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, dead)
    for server in (http_server, tls_server):
        options = {"api_key": KEY, "base_url": server.base_url, "ssl_context": trusting}
        with driver.client(proxy=None, **options) as client:
            assert client.count_tokens(model=MODEL, messages=USER) > 0
        # The same environment with the default proxy="env" does go to the (dead) proxy.
        with (
            driver.client(max_retries=0, **options) as client,
            pytest.raises(wire.APIConnectionError) as info,
        ):
            client.count_tokens(model=MODEL, messages=USER)
        assert dead.removeprefix("http://") in str(info.value)
