"""The tinyproxy fixtures (tests/proxy.py) work: plain HTTP forwarded to the emulator, a
CONNECT tunnel to it (also carrying TLS), and 407 without credentials in the auth variant."""

from __future__ import annotations

import base64
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest

import wire
from tests.proxy import Proxy, start_tinyproxy, tinyproxy, tinyproxy_auth
from wire import builders as build
from wire._connection import ClientConnection, JSONBody, ResponseComplete
from wire.testing import serve

pytest.importorskip("trio")

__all__ = ["tinyproxy", "tinyproxy_auth"]  # fixtures, used by name below

CFG = wire.APIConfig(api_key="sk-test")
TIMEOUT = 10.0


def read_head(sock: socket.socket) -> tuple[int, bytes]:
    """A response head, read byte by byte so nothing past it is taken; (status, head)."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        assert byte, f"the proxy closed after {head!r}"
        head += byte
        assert len(head) < 65536
    return int(head.split(b" ", 2)[1]), head


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def basic(proxy: Proxy) -> bytes:
    token = base64.b64encode(f"{proxy.user}:{proxy.password}".encode()).decode()
    return f"proxy-authorization: Basic {token}\r\n".encode()


def forwarded(proxy: Proxy, origin_port: int, extra: bytes = b"") -> bytes:
    """GET /v1/models through the proxy in absolute form; the whole answer (closes after)."""
    request = (
        f"GET http://127.0.0.1:{origin_port}/v1/models HTTP/1.1\r\n"
        f"host: 127.0.0.1:{origin_port}\r\nx-api-key: k\r\n"
        "anthropic-version: 2023-06-01\r\nconnection: close\r\n"
    ).encode()
    with socket.create_connection((proxy.host, proxy.port), timeout=TIMEOUT) as sock:
        sock.sendall(request + extra + b"\r\n")
        return read_all(sock)


def connect(proxy: Proxy, origin_port: int, extra: bytes = b"") -> tuple[socket.socket, int]:
    """A CONNECT tunnel to the origin; the socket and the proxy's status."""
    sock = socket.create_connection((proxy.host, proxy.port), timeout=TIMEOUT)
    target = f"127.0.0.1:{origin_port}"
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nhost: {target}\r\n".encode() + extra + b"\r\n")
    status, _ = read_head(sock)
    return sock, status


def exchange(sock: socket.socket, request: wire.Request, authority: str) -> list[Any]:
    client = ClientConnection(authority)
    sock.sendall(client.send_request(request))
    events: list[Any] = []
    while not events or not isinstance(events[-1], ResponseComplete):
        data = sock.recv(65536)
        events += client.receive_data(data)
        if not data:
            break
    return events


def stream_request() -> wire.Request:
    hello = [{"role": "user", "content": "through a proxy"}]
    return build.create_message(
        CFG, model="claude-opus-4-6", max_tokens=40, messages=hello, stream=True
    )


def test_plain_http_is_forwarded(tinyproxy: Proxy) -> None:
    with serve() as server:
        answer = forwarded(tinyproxy, server.port)
        assert server.emulator.requests_seen == 1
    assert answer.startswith(b"HTTP/1.")
    assert b" 200 " in answer.split(b"\r\n", 1)[0]
    assert b'"claude-opus-4-6"' in answer


def test_a_connect_tunnel_carries_a_stream(tinyproxy: Proxy) -> None:
    with serve() as server:
        sock, status = connect(tinyproxy, server.port)
        with sock:
            assert status == 200
            events = exchange(sock, stream_request(), f"127.0.0.1:{server.port}")
            assert wire.MessageStop in [type(e) for e in events]
            # The tunnel stays open for the next request (keep-alive through it).
            events = exchange(sock, build.list_models(CFG), f"127.0.0.1:{server.port}")
            assert isinstance(events[1], JSONBody)


def test_a_connect_tunnel_carries_tls(tinyproxy: Proxy) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with serve(ssl_context=server_context) as server:
        raw, status = connect(tinyproxy, server.port)
        assert status == 200
        with client_context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            events = exchange(sock, stream_request(), f"127.0.0.1:{server.port}")
    assert wire.MessageStop in [type(e) for e in events]


def test_credentials_are_required_by_the_auth_variant(tinyproxy_auth: Proxy) -> None:
    assert tinyproxy_auth.auth_url == f"http://wire-user:wire-pass@127.0.0.1:{tinyproxy_auth.port}"
    with serve() as server:
        refused = forwarded(tinyproxy_auth, server.port)
        assert b" 407 " in refused.split(b"\r\n", 1)[0]
        assert b"proxy-authenticate:" in refused.lower()
        sock, status = connect(tinyproxy_auth, server.port)
        sock.close()
        assert status == 407
        wrong = "proxy-authorization: Basic " + base64.b64encode(b"wire-user:nope").decode()
        sock, status = connect(tinyproxy_auth, server.port, wrong.encode() + b"\r\n")
        sock.close()
        assert status == 401  # tinyproxy's answer to wrong credentials (a driver sees 401)
        assert server.emulator.requests_seen == 0  # nothing got through

        answer = forwarded(tinyproxy_auth, server.port, basic(tinyproxy_auth))
        assert b" 200 " in answer.split(b"\r\n", 1)[0]
        sock, status = connect(tinyproxy_auth, server.port, basic(tinyproxy_auth))
        with sock:
            assert status == 200
            events = exchange(sock, stream_request(), f"127.0.0.1:{server.port}")
            assert wire.MessageStop in [type(e) for e in events]


def test_the_proxy_stops_with_its_context(tmp_path: Path) -> None:
    with start_tinyproxy(tmp_path) as proxy:
        with socket.create_connection((proxy.host, proxy.port), timeout=TIMEOUT):
            pass
        assert (tmp_path / "tinyproxy.conf").read_text().count("Listen 127.0.0.1") == 1
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((proxy.host, proxy.port), timeout=TIMEOUT).close()
    assert "tinyproxy" in proxy.log()  # it logs to the file named in its config


def test_credentials_come_in_pairs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both"), start_tinyproxy(tmp_path, user="only"):
        pass


def test_skips_without_the_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tests.proxy.shutil.which", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match="tinyproxy"), start_tinyproxy(tmp_path):
        pass
