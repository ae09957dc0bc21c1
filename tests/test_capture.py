"""The capture format (wire.testing.capture): round trips, redaction, bad files, HAR 1.2."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wire.testing.capture import (
    REDACTED,
    SECRET_HEADERS,
    CapturedRequest,
    CapturedResponse,
    CaptureError,
    CaptureLimitError,
    CaptureWriter,
    End,
    Exchange,
    Read,
    load_capture,
    read_capture,
)
from wire.testing.har import to_har

KEY = "sk-ant-api03-Zx9Qm2TestKey7Lp"

# --- strategies -------------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True).filter(
    lambda n: n not in SECRET_HEADERS
)
headers = st.lists(st.tuples(names, st.text(max_size=20)), max_size=4).map(tuple)
times = st.floats(min_value=0, allow_nan=False, allow_infinity=False)
epochs = st.floats(allow_nan=False, allow_infinity=False)
bodies = st.one_of(st.binary(max_size=40), st.text(max_size=40).map(str.encode))


@st.composite
def exchanges(draw: st.DrawFn, id: int) -> Exchange:
    request = CapturedRequest(
        method=draw(st.sampled_from(["GET", "POST", "DELETE", "HEAD"])),
        target="/" + draw(st.text(max_size=20)),
        headers=draw(headers),
        body=draw(bodies),
    )
    response = reads = end = None
    if draw(st.booleans()):
        response = CapturedResponse(
            t=draw(times),
            status=draw(st.integers(200, 999)),
            reason=draw(st.text(max_size=10)),
            headers=draw(headers),
        )
        reads = tuple(Read(t=draw(times), data=data) for data in draw(st.lists(bodies, max_size=4)))
    if draw(st.booleans()):
        complete = response is not None and draw(st.booleans())
        error = None if complete else " ".join(draw(st.text(min_size=1, max_size=20)).split())
        error = error or (None if complete else "cut")
        end = End(t=draw(times), complete=complete, error=error)
    return Exchange(
        id=id, at=draw(epochs), request=request, response=response, reads=reads or (), end=end
    )


def lines_of(exchange: Exchange) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [("request", exchange)]
    if exchange.response is not None:
        out.append(("response", exchange.response))
    out += [("data", read) for read in exchange.reads]
    if exchange.end is not None:
        out.append(("end", exchange.end))
    return out


def write(writer: CaptureWriter, id: int, kind: str, value: Any) -> None:
    if kind == "request":
        r = value.request
        writer.request(id, value.at, r.method, r.target, r.headers, r.body)
    elif kind == "response":
        writer.response(id, value.t, value.status, value.reason, value.headers)
    elif kind == "data":
        writer.data(id, value.t, value.data)
    else:
        writer.end(id, value.t, complete=value.complete, error=value.error)


def capture_bytes(items: list[Exchange], order: list[int] | None = None) -> bytes:
    """`items` written in an interleaving: `order` names the exchange index taking each turn."""
    out = io.BytesIO()
    writer = CaptureWriter(out, upstream="http://upstream.test")
    queues = [lines_of(e) for e in items]
    for index in order or []:
        if queues[index]:
            kind, value = queues[index].pop(0)
            write(writer, items[index].id, kind, value)
    for index, queue in enumerate(queues):
        for kind, value in queue:
            write(writer, items[index].id, kind, value)
    return out.getvalue()


@st.composite
def captures(draw: st.DrawFn) -> tuple[list[Exchange], list[int]]:
    count = draw(st.integers(0, 4))
    items = [draw(exchanges(id)) for id in range(1, count + 1)]
    order = draw(st.lists(st.integers(0, max(0, count - 1)), max_size=20)) if count else []
    return items, order


# --- round trips ------------------------------------------------------------------------


@given(captures())
def test_any_exchanges_in_any_interleaving_read_back_the_same(
    drawn: tuple[list[Exchange], list[int]],
) -> None:
    items, order = drawn
    data = capture_bytes(items, order)
    assert all(json.loads(line) for line in data.splitlines())  # JSON Lines, one per line
    back = read_capture(io.BytesIO(data))
    assert sorted(back, key=lambda e: e.id) == items


def test_the_header_and_a_path_are_read(tmp_path: Path) -> None:
    path = tmp_path / "x.wirecap"
    with CaptureWriter.create(path, upstream="https://api.example") as writer:
        writer.request(writer.new_id(), 1.0, "GET", "/v1/models", [], b"")
    capture = load_capture(path)
    assert capture.version == 1
    assert capture.upstream == "https://api.example"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", capture.created)
    assert read_capture(str(path)) == list(capture.exchanges)
    assert capture.exchanges[0].end is None
    assert capture.exchanges[0].response is None


def test_each_line_is_flushed_so_a_killed_writer_leaves_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "x.wirecap"
    writer = CaptureWriter.create(path, upstream="http://u")
    try:
        writer.request(1, 1.0, "POST", "/v1/messages", [("a", "b")], b"{}")
        writer.response(1, 0.1, 200, "OK", [("content-type", "text/event-stream")])
        writer.data(1, 0.2, b"event: ping\n")
        (exchange,) = read_capture(path)  # the writer is still open
        assert exchange.body == b"event: ping\n"
        assert exchange.end is None
    finally:
        writer.close()


def test_bodies_that_are_not_utf8_are_stored_as_base64() -> None:
    exchange = Exchange(
        id=1,
        at=0.0,
        request=CapturedRequest(method="POST", target="/", body=b"\xff\x00"),
        response=CapturedResponse(t=0.0, status=200),
        reads=(Read(t=0.1, data=b"\x80ok"),),
        end=End(t=0.2, complete=True),
    )
    data = capture_bytes([exchange])
    assert b'"body_base64": "/wA="' in data
    assert b'"data_base64"' in data
    assert read_capture(io.BytesIO(data)) == [exchange]


def test_blank_lines_unknown_keys_and_unknown_types_are_skipped() -> None:
    text = (
        '{"type": "wire-capture", "version": 1, "future": true}\n\n'
        '{"type": "annotation", "id": 9, "text": "from a later version"}\n'
        '{"type": "request", "id": 1, "at": 5, "method": "GET", "target": "/", "body": "",'
        ' "extra": [1]}\n'
        "   \n"
        '{"type": "end", "id": 1, "t": 1, "complete": false, "error": "cut", "why": 2}\n'
    )
    (exchange,) = read_capture(io.BytesIO(text.encode()))
    assert exchange.at == 5.0
    assert exchange.end == End(t=1.0, complete=False, error="cut")


# --- bad files --------------------------------------------------------------------------

HEADER = '{"type": "wire-capture", "version": 1}\n'
REQUEST = '{"type": "request", "id": 1, "at": 1, "method": "GET", "target": "/", "body": ""}\n'
RESPONSE = '{"type": "response", "id": 1, "t": 0, "status": 200}\n'


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 0, "empty"),
        (REQUEST, 1, "not a wire capture header"),
        ('{"type": "wire-capture", "version": 2}\n', 1, "version 2"),
        ('{"type": "wire-capture"}\n', 1, "'version'"),
        ("not json\n", 1, "not a JSON object"),
        ("[1]\n", 1, "not a JSON object"),
        (HEADER + REQUEST + REQUEST, 3, "a second request line"),
        (HEADER + '{"type": "data", "id": 1, "t": 0, "data": ""}\n', 2, "before its request"),
        (HEADER + REQUEST + '{"type": "data", "id": 1, "t": 0, "data": ""}\n', 3, "before its"),
        (HEADER + REQUEST.replace('"at": 1', '"at": 1e999'), 2, "finite"),
        (HEADER + REQUEST.replace('"id": 1', '"id": true'), 2, "'id' is not a int"),
        (HEADER + REQUEST.replace('"body": ""', '"body_base64": "!!"'), 2, "not base64"),
        (HEADER + REQUEST.replace('"body": ""', '"x": 1'), 2, "needs one of"),
        (HEADER + HEADER, 2, "a second header"),
        (HEADER + REQUEST + RESPONSE.replace("200", "99"), 3, "not a final HTTP status"),
        (HEADER + REQUEST + RESPONSE.replace("200", "1000"), 3, "not a final HTTP status"),
        (HEADER + REQUEST + RESPONSE.replace('"t": 0', '"t": -0.5'), 3, "'t' is not a finite"),
        (HEADER + REQUEST.replace('"body": ""', '"headers": [["a"]], "body": ""'), 2, "headers"),
        (
            HEADER + REQUEST + '{"type": "end", "id": 1, "t": 0, "complete": true}\n'
            '{"type": "end", "id": 1, "t": 0, "complete": true}\n',
            4,
            "after its end",
        ),
    ],
)
def test_bad_files_raise_capture_error_naming_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(CaptureError) as caught:
        read_capture(io.BytesIO(text.encode()))
    assert caught.value.line == line
    assert words in str(caught.value)


def test_limits_raise_a_named_error() -> None:
    long = HEADER + REQUEST.replace('"body": ""', '"body": "' + "x" * 500 + '"')
    with pytest.raises(CaptureLimitError) as caught:
        read_capture(io.BytesIO(long.encode()), max_line_bytes=200)
    assert (caught.value.limit, caught.value.line) == ("max_line_bytes", 2)
    many = HEADER + REQUEST.replace('"id": 1', '"id": 2') * 1
    with pytest.raises(CaptureLimitError) as caught:
        read_capture(io.BytesIO((HEADER + REQUEST + many).encode()), max_capture_bytes=150)
    assert caught.value.limit == "max_capture_bytes"
    assert isinstance(caught.value, CaptureError)
    assert len(read_capture(io.BytesIO(long.encode()), max_line_bytes=600)) == 1


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    items, order = draw(captures())
    lines = capture_bytes(items, order).split(b"\n")
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["byte", "cut", "json", "dup", "drop", "swap"]))
        line = lines[at]
        if how == "byte" and line:
            pos = draw(st.integers(0, len(line) - 1))
            line = line[:pos] + bytes([draw(st.integers(0, 255))]) + line[pos + 1 :]
        elif how == "cut":
            line = line[: draw(st.integers(0, len(line)))]
        elif how == "json":
            value = draw(
                st.recursive(
                    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: (
                        st.lists(inner, max_size=3)
                        | st.dictionaries(
                            st.sampled_from(["type", "id", "t", "at", "data", "body", "headers"]),
                            inner,
                            max_size=4,
                        )
                    ),
                    max_leaves=6,
                )
            )
            line = json.dumps(value).encode()
        elif how == "dup":
            lines.insert(at, line)
        elif how == "drop":
            del lines[at]
            continue
        elif how == "swap" and at + 1 < len(lines):
            lines[at], lines[at + 1] = lines[at + 1], lines[at]
            continue
        lines[at] = line
    return b"\n".join(lines)


@given(mutated())
def test_mutated_files_give_capture_errors_never_other_exceptions(data: bytes) -> None:
    with contextlib.suppress(CaptureError):
        read_capture(io.BytesIO(data))


# --- redaction --------------------------------------------------------------------------


def test_secret_headers_and_the_key_everywhere_are_redacted() -> None:
    out = io.BytesIO()
    writer = CaptureWriter(out, upstream="http://u", secrets=["other-secret-value"])
    writer.request(
        1,
        0.0,
        "POST",
        f"/v1/messages?key={KEY}",
        [
            ("X-Api-Key", KEY),
            ("authorization", f"Bearer {KEY}-token"),
            ("proxy-authorization", "Basic dXNlcjpwYXNz"),
            ("cookie", "session=abc"),
            ("x-note", f"mine is {KEY}"),
            ("x-other", "has other-secret-value in it"),
        ],
        f'{{"text": "{KEY}", "token": "{KEY}-token", "basic": "dXNlcjpwYXNz"}}'.encode(),
    )
    writer.response(1, 0.1, 200, "OK", [("set-cookie", "a=b"), ("x-echo", KEY)])
    writer.data(1, 0.2, f"data: {KEY}\n\n".encode())
    writer.end(1, 0.3, complete=False, error=f"failed with {KEY}")
    data = out.getvalue()
    for secret in (KEY, "dXNlcjpwYXNz", "session=abc", "a=b", "other-secret-value"):
        assert secret.encode() not in data, secret
    (exchange,) = read_capture(io.BytesIO(data))
    assert dict(exchange.request.headers)["x-note"] == f"mine is {REDACTED}"
    assert exchange.request.target == f"/v1/messages?key={REDACTED}"
    assert all(v == REDACTED for k, v in exchange.request.headers if k.lower() in SECRET_HEADERS)


def collapse(data: bytes) -> bytes:
    marker = re.escape(REDACTED.encode())
    return re.sub(b"(?:" + marker + b")+", REDACTED.encode(), data)


@given(
    key=st.from_regex(r"[A-Za-z0-9_-]{8,40}", fullmatch=True),
    parts=st.lists(st.text(alphabet="ab \n:", max_size=12), min_size=1, max_size=6),
    cuts=st.lists(st.integers(0, 400), max_size=8),
)
def test_a_key_split_across_any_reads_is_never_written(
    key: str, parts: list[str], cuts: list[int]
) -> None:
    body = key.join(parts).encode()
    pieces = [
        body[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(body)], strict=True)
    ]
    pieces = [p for p in pieces if p] or [b""]
    out = io.BytesIO()
    writer = CaptureWriter(out, upstream="http://u")
    writer.request(1, 0.0, "GET", "/", [("x-api-key", key)], b"")
    writer.response(1, 0.0, 200, "OK", [])
    for number, piece in enumerate(pieces):
        writer.data(1, float(number), piece)
    writer.end(1, 9.0, complete=True)
    data = out.getvalue()
    assert key.encode() not in data
    (exchange,) = read_capture(io.BytesIO(data))
    assert collapse(exchange.body) == collapse(body.replace(key.encode(), REDACTED.encode()))
    assert [r.t for r in exchange.reads] == sorted(r.t for r in exchange.reads)  # order kept
    assert len(exchange.reads) <= len(pieces)


# --- HAR 1.2 ----------------------------------------------------------------------------

# The fields HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) marks required.
HAR_REQUIRED = {
    "log": {"version", "creator", "entries"},
    "creator": {"name", "version"},
    "entry": {"startedDateTime", "time", "request", "response", "cache", "timings"},
    "request": {
        "method",
        "url",
        "httpVersion",
        "cookies",
        "headers",
        "queryString",
        "headersSize",
        "bodySize",
    },
    "response": {
        "status",
        "statusText",
        "httpVersion",
        "cookies",
        "headers",
        "content",
        "redirectURL",
        "headersSize",
        "bodySize",
    },
    "content": {"size", "mimeType"},
    "timings": {"send", "wait", "receive"},
}


def check_har(har: dict[str, Any]) -> None:
    log = har["log"]
    assert HAR_REQUIRED["log"] <= set(log)
    assert log["version"] == "1.2"
    assert HAR_REQUIRED["creator"] <= set(log["creator"])
    for entry in log["entries"]:
        assert HAR_REQUIRED["entry"] <= set(entry)
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", entry["startedDateTime"])
        request, response = entry["request"], entry["response"]
        assert HAR_REQUIRED["request"] <= set(request)
        assert HAR_REQUIRED["response"] <= set(response)
        assert HAR_REQUIRED["content"] <= set(response["content"])
        assert HAR_REQUIRED["timings"] <= set(entry["timings"])
        for pair in request["headers"] + response["headers"] + request["queryString"]:
            assert set(pair) == {"name", "value"}
            assert all(isinstance(v, str) for v in pair.values())
        if "postData" in request:
            assert {"mimeType", "text"} <= set(request["postData"])
        timings = entry["timings"]
        assert entry["time"] == pytest.approx(sum(v for v in timings.values() if v > 0))


@given(captures())
def test_har_export_has_every_required_field(drawn: tuple[list[Exchange], list[int]]) -> None:
    items, order = drawn
    capture = load_capture(io.BytesIO(capture_bytes(items, order)))
    har = json.loads(json.dumps(to_har(capture)))  # plain JSON values all the way
    assert len(har["log"]["entries"]) == len(items)
    check_har(har)


def test_har_entries_carry_urls_query_bodies_and_incompleteness() -> None:
    exchange = Exchange(
        id=1,
        at=1795705200.25,
        request=CapturedRequest(
            method="GET",
            target="/v1/models?limit=2&after_id=x%20y",
            headers=(("content-type", "application/json"),),
        ),
        response=CapturedResponse(t=0.5, status=200, reason="OK", headers=(("a", "b"),)),
        reads=(Read(t=0.6, data=b"\xff\xfe"),),
        end=End(t=1.5, complete=False, error="cut off"),
    )
    (entry,) = to_har([exchange], upstream="https://api.example/")["log"]["entries"]
    assert entry["request"]["url"] == "https://api.example/v1/models?limit=2&after_id=x%20y"
    assert entry["request"]["queryString"] == [
        {"name": "limit", "value": "2"},
        {"name": "after_id", "value": "x y"},
    ]
    assert entry["response"]["content"] == {
        "size": 2,
        "mimeType": "",
        "text": "//4=",
        "encoding": "base64",
    }
    assert entry["timings"] == {"send": 0, "wait": 500.0, "receive": 1000.0}
    assert entry["startedDateTime"] == "2026-11-26T15:00:00.250+00:00"
    assert entry["_complete"] is False
    assert "cut off" in entry["comment"]


@pytest.mark.parametrize("target", ["//[?a=1", "//host:x/p?a=1", "?a=1"])
def test_har_reads_the_query_of_any_target_never_a_host(target: str) -> None:
    exchange = Exchange(id=1, at=0.0, request=CapturedRequest(method="GET", target=target))
    (entry,) = to_har([exchange], upstream="http://u")["log"]["entries"]
    assert entry["request"]["url"] == "http://u" + target
    assert entry["request"]["queryString"] == [{"name": "a", "value": "1"}]
