"""The recorder attacked from upstream and from its clients.

An upstream that never stops sending, or bombs, must not fill the disk nor make the
capture unreadable; the recorder's other clients go on; a key split across reads
never reaches the file.
"""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile import SSE_HEAD, Hostile, Peer, gzip_bomb
from wire.testing.capture import CaptureWriter, load_capture
from wire.testing.recorder import record

KEY = "sk-ant-api03-AttackRecorderKey-0a1b2c"
HEADERS = {"x-api-key": KEY, "content-type": "application/json"}
LIMIT = 256 * 1024


def endless_or_small(peer: Peer) -> None:
    """`/endless` streams forever (echoing the key now and then); anything else gets `{}`."""
    head = peer.read_request()
    if b"/endless" in head.split(b"\r\n", 1)[0]:
        peer.send(SSE_HEAD + b"\r\n")
        peer.forever(b"data: " + KEY.encode() + b" " + b"x" * 8000 + b"\n\n")
    peer.send(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
    peer.stall()


def request(base_url: str, target: str) -> tuple[int, bytes, bool]:
    """POST; the status, the body read, and whether it came whole."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("POST", target, body=b"{}", headers=HEADERS)
        response = connection.getresponse()
        try:
            return response.status, response.read(), True
        except http.client.IncompleteRead as cut:
            return response.status, cut.partial, False
    finally:
        connection.close()


def test_an_endless_upstream_body_is_cut_at_max_response_bytes(tmp_path: Path) -> None:
    path = tmp_path / "c.wirecap"
    with (
        Hostile(endless_or_small) as upstream,
        CaptureWriter.create(path, upstream=upstream.base_url) as writer,
        record(upstream.base_url, writer, proxy=None, max_response_bytes=LIMIT) as recorder,
    ):
        status, body, whole = request(recorder.base_url, "/v1/endless")
        assert status == 200
        assert not whole
        assert len(body) <= LIMIT
        assert request(recorder.base_url, "/v1/messages") == (200, b"{}", True)  # others go on
    assert path.stat().st_size < 2 * LIMIT
    endless, small = load_capture(path).exchanges
    assert endless.end is not None
    assert endless.end.complete is False
    assert "max_response_bytes" in (endless.end.error or "")
    assert len(endless.body) <= LIMIT
    assert KEY.encode() not in path.read_bytes()
    assert small.body == b"{}"


def test_a_gzip_bomb_upstream_leaves_a_readable_capture(tmp_path: Path) -> None:
    path = tmp_path / "c.wirecap"
    with (
        Hostile(gzip_bomb) as upstream,
        CaptureWriter.create(path, upstream=upstream.base_url) as writer,
        record(upstream.base_url, writer, proxy=None) as recorder,
    ):
        status, _, whole = request(recorder.base_url, "/v1/messages")
        assert status == 200
        assert not whole
    (exchange,) = load_capture(path).exchanges
    assert exchange.end is not None
    assert exchange.end.complete is False
    assert path.stat().st_size < 64 * 1024 * 1024


@pytest.mark.parametrize("limit", [-1, 1.5, True])
def test_max_response_bytes_is_checked(limit: object, tmp_path: Path) -> None:
    with (
        CaptureWriter.create(tmp_path / "c", upstream="http://127.0.0.1:9") as writer,
        pytest.raises(ValueError, match="max_response_bytes"),
        record("http://127.0.0.1:9", writer, max_response_bytes=limit),
    ):
        pass


@given(
    cuts=st.lists(st.integers(0, 200), min_size=1, max_size=6),
    before=st.binary(max_size=40),
    after=st.binary(max_size=40),
)
@settings(max_examples=200, deadline=None)
def test_a_key_split_across_reads_never_reaches_the_file(
    cuts: list[int], before: bytes, after: bytes
) -> None:
    """The writer a recorder uses, fed the key cut at any points across any reads."""
    import io

    data = before + KEY.encode() + b"|" + KEY.encode()[:7] + KEY.encode() + after
    file = io.BytesIO()
    writer = CaptureWriter(file, upstream="http://up")
    writer.request(1, 0.0, "POST", "/v1/messages", [("x-api-key", KEY)], b"{}")
    at = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        writer.data(1, 0.0, data[at:cut])
        at = cut
    writer.data(1, 0.0, data[at:])
    writer.end(1, 0.0, complete=True)
    assert KEY.encode() not in file.getvalue()
