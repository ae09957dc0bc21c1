"""The emulator over TLS: `serve(ssl_context=...)` and `wire serve --tls-cert/--tls-key`, with a
throwaway CA made by trustme; clients that fail the handshake never stop the server."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wire
from wire import builders as build
from wire._connection import ClientConnection, JSONBody, ResponseComplete
from wire.testing import serve

pytest.importorskip("trio")
trustme = pytest.importorskip("trustme")

CFG = wire.APIConfig(api_key="sk-test")
HELLO = [{"role": "user", "content": "hello over tls"}]
TIMEOUT = 10.0


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca: Any) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_context(ca: Any) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def ca_path(ca: Any, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def tls_exchange(port: int, request: wire.Request, context: ssl.SSLContext) -> list[Any]:
    """One request over a verified TLS socket, driven by wire's sans-IO client."""
    client = ClientConnection(f"127.0.0.1:{port}")
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        sock.sendall(client.send_request(request))
        events: list[Any] = []
        while not events or not isinstance(events[-1], ResponseComplete):
            data = sock.recv(65536)
            events += client.receive_data(data)
            if not data:
                break
    return events


def stream_request() -> wire.Request:
    return build.create_message(
        CFG, model="claude-opus-4-6", max_tokens=40, messages=HELLO, stream=True
    )


def test_a_stream_over_tls(server_context: ssl.SSLContext, client_context: ssl.SSLContext) -> None:
    with serve(ssl_context=server_context) as server:
        assert server.base_url == f"https://127.0.0.1:{server.port}"
        events = tls_exchange(server.port, stream_request(), client_context)
    kinds = [type(e) for e in events]
    assert kinds[1] is wire.MessageStart
    assert wire.MessageStop in kinds
    assert events[-1] == ResponseComplete(reusable=True)


def test_keep_alive_over_one_tls_connection(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    with serve(ssl_context=server_context) as server:
        client = ClientConnection(f"127.0.0.1:{server.port}")
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        with client_context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            for _ in range(3):
                sock.sendall(client.send_request(build.list_models(CFG)))
                events: list[Any] = []
                while not events or not isinstance(events[-1], ResponseComplete):
                    data = sock.recv(65536)
                    assert data
                    events += client.receive_data(data)
                assert isinstance(events[1], JSONBody)
        assert server.emulator.requests_seen == 3


def bad_clients(port: int) -> Iterator[str]:
    """Clients whose handshakes fail in different ways; yields the name of each once done."""
    untrusting = ssl.create_default_context()  # does not know the test CA
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    with pytest.raises(ssl.SSLCertVerificationError):
        untrusting.wrap_socket(raw, server_hostname="127.0.0.1")
    raw.close()
    yield "untrusting"

    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as plain:
        plain.sendall(ClientConnection("h").send_request(build.list_models(CFG)))
        plain.shutdown(socket.SHUT_WR)
        while plain.recv(65536):  # the server gives up on this garbage and closes
            pass
    yield "plain http"

    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(b"\x16\x03\x01\x00\x05hello")  # a cut-off, malformed ClientHello
    yield "garbage hello"

    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT):
        pass  # connects, then leaves without a word
    yield "silent"


def test_failed_handshakes_never_stop_the_server(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    with serve(ssl_context=server_context) as server:
        for name in bad_clients(server.port):
            events = tls_exchange(server.port, build.list_models(CFG), client_context)
            assert isinstance(events[1], JSONBody), name
        assert server.emulator.failures == []


def test_a_stalled_handshake_holds_up_only_itself(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    with (
        serve(ssl_context=server_context) as server,
        # Connected, never says hello: the others are served all the same.
        socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT),
    ):
        events = tls_exchange(server.port, stream_request(), client_context)
        assert wire.MessageStop in [type(e) for e in events]


def test_faults_apply_over_tls(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    request = build.create_message(
        CFG,
        model="claude-opus-4-6",
        max_tokens=40,
        messages=HELLO,
        stream=True,
        extra_headers={"x-wire-fault": "chunk=1;gzip=1"},
    )
    with serve(ssl_context=server_context) as server:
        events = tls_exchange(server.port, request, client_context)
        plain = tls_exchange(server.port, stream_request(), client_context)
    kinds = [type(e) for e in events]
    assert kinds == [type(e) for e in plain]
    assert wire.MessageStop in kinds


def test_wire_serve_with_tls(ca: Any, client_context: ssl.SSLContext, tmp_path: Path) -> None:
    cert = ca.issue_cert("127.0.0.1")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "wire", "serve", "--port", str(port)]
    command += ["--tls-cert", str(cert_path), "--tls-key", str(key_path)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == f"wire emulator listening on https://127.0.0.1:{port}"
        events = tls_exchange(port, build.get_model(CFG, "claude-opus-4-6"), client_context)
        assert isinstance(events[1], JSONBody)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tls-cert", "{tmp}/cert.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-cert", "{tmp}/missing.pem", "--tls-key", "{tmp}/missing.pem"], "cannot load"),
    ],
)
def test_wire_serve_refuses_a_bad_tls_setup(extra: list[str], message: str, tmp_path: Path) -> None:
    extra = [arg.format(tmp=tmp_path) for arg in extra]
    done = subprocess.run(
        [sys.executable, "-m", "wire", "serve", "--port", "0", *extra],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_the_sdk_over_https(ca_path: str, server_context: ssl.SSLContext) -> None:
    anthropic = pytest.importorskip("anthropic")
    # The SDK's own httpx client class (it may run on httpx or on httpx2), trusting the CA.
    verify = ssl.create_default_context(cafile=ca_path)
    with (
        serve(ssl_context=server_context, batch_seconds=0) as server,
        anthropic.DefaultHttpxClient(verify=verify) as http,
    ):
        client = anthropic.Anthropic(api_key="sk-test", base_url=server.base_url, http_client=http)
        kwargs: dict[str, Any] = {"model": "claude-opus-4-6", "max_tokens": 40, "messages": HELLO}
        created = client.messages.create(**kwargs)
        with client.messages.stream(**kwargs) as stream:
            streamed = stream.get_final_message()
        assert [b.text for b in streamed.content] == [b.text for b in created.content]  # type: ignore[union-attr,unused-ignore]
        assert streamed.stop_reason == created.stop_reason
        # A batch's results_url is absolute: it must name https, or the SDK would fail here.
        batch = client.messages.batches.create(
            requests=[{"custom_id": "a", "params": kwargs}]  # type: ignore[list-item,unused-ignore]
        )
        assert batch.id
        done = client.messages.batches.retrieve(batch.id)
        assert done.results_url is not None
        assert done.results_url.startswith("https://")
        results = list(client.messages.batches.results(batch.id))
        assert [r.custom_id for r in results] == ["a"]
        assert results[0].result.type == "succeeded"


def test_the_sdk_refuses_an_untrusted_emulator(server_context: ssl.SSLContext) -> None:
    anthropic = pytest.importorskip("anthropic")
    with serve(ssl_context=server_context) as server:
        client = anthropic.Anthropic(api_key="sk-test", base_url=server.base_url, max_retries=0)
        with pytest.raises(anthropic.APIConnectionError):
            client.models.retrieve("claude-opus-4-6")
        assert server.emulator.failures == []
