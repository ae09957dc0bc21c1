"""Proxy selection (environment, NO_PROXY), proxy URLs and the CONNECT handshake, sans-IO."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wire import APIConnectionError, InvalidParameterError
from wire._proxy import (
    Proxy,
    ProxyError,
    Tunnel,
    absolute_target,
    environment_proxies,
    no_proxy_matches,
    parse_proxy,
    select_proxy,
)

# Labels start with a letter: an all-digit name would be an IP literal (matched exactly).
labels = st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True)
names = st.lists(labels, min_size=1, max_size=4).map(".".join)


def chunked(data: bytes, sizes: list[int]) -> list[bytes]:
    out, at = [], 0
    for size in sizes:
        out.append(data[at : at + size])
        at += size
    out.append(data[at:])
    return [c for c in out if c]


def feed(tunnel: Tunnel, chunks: list[bytes]) -> None:
    for chunk in chunks:
        tunnel.receive_data(chunk)


# --- selection from the environment ----------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "scheme", "expected"),
    [
        ({"HTTPS_PROXY": "http://p:1"}, "https", "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1"}, "http", None),
        ({"HTTP_PROXY": "http://p:2"}, "http", "http://p:2"),
        ({"ALL_PROXY": "p:3"}, "https", "http://p:3"),  # no scheme: http:// is assumed
        ({"ALL_PROXY": "p:3", "HTTPS_PROXY": "p:4"}, "https", "http://p:4"),
        ({"HTTPS_PROXY": "p:1", "https_proxy": "p:5"}, "https", "http://p:5"),  # lower wins
        ({"HTTPS_PROXY": "p:1", "https_proxy": ""}, "https", None),  # empty lower cancels
        ({"HTTP_PROXY": "p:1", "REQUEST_METHOD": "GET"}, "http", None),  # CGI
        ({"http_proxy": "p:6", "REQUEST_METHOD": "GET"}, "http", "http://p:6"),
        ({"HTTPS_PROXY": "p:1", "NO_PROXY": "api.test"}, "https", None),
        ({"HTTPS_PROXY": "p:1", "no_proxy": "*"}, "https", None),
        ({"HTTPS_PROXY": "p:1", "NO_PROXY": ""}, "https", "http://p:1"),
        ({}, "https", None),
    ],
)
def test_environment_selection(environ: dict[str, str], scheme: str, expected: str | None) -> None:
    proxy = select_proxy(scheme, "api.test", 443, "env", environ)
    assert (None if proxy is None else proxy.url) == expected


def test_explicit_proxy_forces_and_none_disables() -> None:
    environ = {"HTTPS_PROXY": "http://env:1", "NO_PROXY": "*"}
    forced = select_proxy("https", "api.test", 443, "http://forced:9", environ)
    assert forced == Proxy("forced", 9)
    assert select_proxy("https", "api.test", 443, None, environ) is None


def test_environment_proxies_reads_every_case() -> None:
    found = environment_proxies({"Https_Proxy": "a", "no_proxy": "b", "PATH": "/bin"})
    assert found == {"https": "a", "no": "b"}


@pytest.mark.parametrize(
    "url",
    ["socks5://p:1", "https://p:1", "http://p:1/path", "http://:1", "http://p:99999", "http://p:x"],
)
def test_bad_proxy_urls_are_refused_naming_the_source(url: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        parse_proxy(url, source="HTTPS_PROXY")
    assert info.value.parameter == "HTTPS_PROXY"


def test_unsupported_proxy_in_environment_names_the_variable() -> None:
    with pytest.raises(InvalidParameterError, match="HTTPS_PROXY"):
        select_proxy("https", "api.test", 443, "env", {"HTTPS_PROXY": "socks5://p:1"})


# --- NO_PROXY --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "host", "port", "matches"),
    [
        ("example.com", "example.com", 443, True),
        ("example.com", "api.example.com", 443, True),
        ("example.com", "wwwexample.com", 443, False),
        (".example.com", "api.example.com", 443, True),
        (".example.com", "example.com", 443, False),
        ("*.example.com", "example.com", 443, False),
        ("*.example.com", "a.b.example.com", 443, True),
        ("EXAMPLE.com", "Example.COM", 443, True),
        ("localhost", "localhost", 80, True),
        ("localhost", "a.localhost", 80, False),
        ("10.0.0.5", "10.0.0.5", 443, True),
        ("10.0.0.5", "10.0.0.6", 443, False),
        ("::1", "::1", 443, True),
        ("[::1]", "::1", 443, True),
        ("::1", "[::1]", 443, True),
        ("10.0.0.0/8", "10.200.3.4", 443, True),
        ("10.0.0.0/8", "11.0.0.1", 443, False),
        ("10.0.0.0/8", "example.com", 443, False),
        ("fd00::/8", "fd12::1", 443, True),
        ("fd00::/8", "10.0.0.1", 443, False),
        ("example.com:8443", "example.com", 8443, True),
        ("example.com:8443", "example.com", 443, False),
        ("[::1]:8443", "::1", 8443, True),
        ("https://example.com", "example.com", 443, True),
        ("http://example.com", "example.com", 443, False),
        ("example.com/path", "example.com", 443, False),
        ("not a host/x", "example.com", 443, False),
        ("[::1", "::1", 443, False),
        ("", "example.com", 443, False),
    ],
)
def test_no_proxy_table(entry: str, host: str, port: int, matches: bool) -> None:
    assert no_proxy_matches("https", host, port, entry) is matches


@given(names, names, st.lists(names, max_size=3))
def test_no_proxy_names_match_at_label_boundaries(domain: str, sub: str, others: list[str]) -> None:
    listed = ", ".join([*others, domain])
    assert no_proxy_matches("https", domain, 443, listed)
    assert no_proxy_matches("https", f"{sub}.{domain}", 443, listed)
    assert no_proxy_matches("https", f"{sub}.{domain}", 443, f" .{domain} ")
    assert not no_proxy_matches("https", domain, 443, f".{domain}")
    # Glued on without a dot: never a subdomain (unless another entry names it).
    glued = f"{sub}{domain}"
    expected = any(glued == o or glued.endswith("." + o) for o in others)
    assert no_proxy_matches("https", glued, 443, listed) is expected


@given(st.lists(names, max_size=4), st.integers(0, 4), names)
def test_a_star_anywhere_bypasses_everything(entries: list[str], at: int, host: str) -> None:
    entries.insert(min(at, len(entries)), "*")
    assert no_proxy_matches("http", host, 80, ",".join(entries))


@given(st.ip_addresses(), st.integers(0, 128))
def test_no_proxy_cidr_agrees_with_ipaddress(address: object, prefix: int) -> None:
    import ipaddress

    assert isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address)
    prefix = min(prefix, address.max_prefixlen)
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    probe = network.network_address
    assert no_proxy_matches("https", str(probe), 443, str(network))
    outside = int(network.broadcast_address) + 1
    if outside < 2**address.max_prefixlen:
        other = ipaddress.ip_address(outside) if address.version == 4 else None
        if other is not None:
            assert not no_proxy_matches("https", str(other), 443, str(network))


# --- secrets ---------------------------------------------------------------------------

secrets = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ!@#%:/ ", min_size=6, max_size=20).map(
    lambda s: "Zq" + s
)


@given(user=secrets, password=secrets, status=st.sampled_from([403, 407, 502]))
def test_credentials_never_in_reprs_or_errors(user: str, password: str, status: int) -> None:
    url = f"http://{quote(user, safe='')}:{quote(password, safe='')}@proxy.test:3128"
    proxy = parse_proxy(url)
    assert (proxy.username, proxy.password) == (user, password)
    expected = base64.b64encode(f"{user}:{password}".encode()).decode()
    assert proxy.authorization == f"Basic {expected}"
    tunnel = Tunnel(proxy, "api.test", 443)
    assert f"Basic {expected}".encode() in tunnel.request()
    texts = [repr(proxy), proxy.url, repr(tunnel), str(select_proxy("https", "a", 1, url, {}))]
    with pytest.raises(ProxyError) as info:
        tunnel.receive_data(f"HTTP/1.1 {status} No\r\ncontent-length: 0\r\n\r\n".encode())
    texts += [str(info.value), repr(info.value), info.value.proxy]
    for bad in (url + "/path", url.replace("http", "socks5", 1), url.replace("3128", "x")):
        with pytest.raises(InvalidParameterError) as refused:
            parse_proxy(bad)
        texts.append(str(refused.value))
    for text in texts:
        assert password not in text
        assert quote(password, safe="") not in text
        assert expected not in text


# --- the CONNECT handshake -------------------------------------------------------------


def test_connect_request_bytes() -> None:
    tunnel = Tunnel(Proxy("p", 3128, "user", "p@ss"), "api.anthropic.com", 443)
    raw = tunnel.request()
    assert raw.startswith(b"CONNECT api.anthropic.com:443 HTTP/1.1\r\n")
    assert b"host: api.anthropic.com:443\r\n" in raw
    assert b"proxy-authorization: Basic dXNlcjpwQHNz\r\n" in raw  # PROTOCOL.md §1.5
    assert raw.endswith(b"\r\n\r\n")
    assert b"proxy-authorization" not in Tunnel(Proxy("p", 1), "::1", 443).request()
    assert Tunnel(Proxy("p", 1), "::1", 443).request().startswith(b"CONNECT [::1]:443 ")


@given(st.lists(st.integers(1, 20), max_size=12), st.booleans())
def test_tunnel_opens_in_any_chunking(sizes: list[int], informational: bool) -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\n" if informational else b""
    answer += b"HTTP/1.1 200 Connection established\r\nvia: test\r\n\r\n\x16\x03"
    tunnel = Tunnel(Proxy("p", 1), "api.test", 443)
    tunnel.request()
    chunks = chunked(answer, sizes)
    opened = next(i for i, chunk in enumerate(chunks) if tunnel.receive_data(chunk))
    # Bytes after the answer belong to the tunnel (TLS): kept, or still unread.
    assert tunnel.trailing + b"".join(chunks[opened + 1 :]) == b"\x16\x03"
    assert tunnel.receive_data(b"") is True


@given(st.lists(st.integers(1, 30), max_size=8))
def test_refusal_in_any_chunking(sizes: list[int]) -> None:
    answer = b"HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic\r\n\r\n"
    tunnel = Tunnel(Proxy("p", 1), "api.test", 443)
    tunnel.request()
    with pytest.raises(ProxyError) as info:
        feed(tunnel, chunked(answer, sizes))
    assert info.value.status == 407
    assert "proxy http://p:1" in str(info.value)
    assert "no credentials" in str(info.value)
    assert isinstance(info.value, APIConnectionError)


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        (b"", "closed the connection"),
        (b"HTTP/1.1 200 OK\r\n", "closed the connection"),
        (b"garbage\r\n\r\n", "broken answer"),
        (b"HTTP/1.1 200 OK\r\nx: " + b"a" * 70_000, "broken answer"),
    ],
)
def test_broken_answers(answer: bytes, text: str) -> None:
    tunnel = Tunnel(Proxy("p", 1), "api.test", 443)
    tunnel.request()
    with pytest.raises(ProxyError, match=text) as info:
        feed(tunnel, [answer, b""])
    assert info.value.status is None


def test_absolute_target() -> None:
    assert absolute_target("http", "h", 8080, "/v1/messages") == "http://h:8080/v1/messages"
    assert absolute_target("http", "::1", 80, "/x") == "http://[::1]:80/x"
