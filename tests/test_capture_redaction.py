"""Redaction under attack: the key encoded any way a client could, secrets without bound,
the writer's lines past what the reader takes (wire.testing.capture, wire.testing._redact).

Each property scans what was written decoded every way a reader would: as stored, percent-
decoded (`%XX`, and `+` as a space), JSON-unescaped; the file itself and each field read back.
"""

from __future__ import annotations

import io
import json
import re
import urllib.parse
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wire.testing._redact import MAX_SECRET_BYTES, MAX_SECRETS, Redactor
from wire.testing.capture import (
    DEFAULT_MAX_CAPTURE_BYTES,
    DEFAULT_MAX_LINE_BYTES,
    CaptureLimitError,
    CaptureWriter,
    RedactionError,
    load_capture,
    read_capture,
)

# --- encodings a client may use, per character --------------------------------------------

_JSON_TOKEN = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\[\"\\/bfnrt]"
)


def json_unescape(data: bytes) -> bytes:
    """Every JSON escape decoded, each by `json.loads` (greedy, left to right, as a reader)."""

    def one(match: re.Match[bytes]) -> bytes:
        text: str = json.loads(b'"' + match.group() + b'"')
        return text.encode("utf-8", "surrogatepass")

    return _JSON_TOKEN.sub(one, data)


DECODERS: list[Callable[[bytes], bytes]] = [
    lambda data: data,
    urllib.parse.unquote_to_bytes,
    lambda data: urllib.parse.unquote_to_bytes(data.replace(b"+", b" ")),
    json_unescape,
]


def hexed(byte: int, case: int) -> str:
    text = f"{byte:02x}"
    return text.upper() if case == 1 else text if case == 0 else text[0] + text[1].upper()


def percent(key: str, choices: list[int]) -> str:
    """Each character as itself (0), or its UTF-8 bytes as %xx in some case; a space may be +."""
    out = []
    for char, choice in zip(key, choices, strict=True):
        if choice % 4 == 0:
            out.append(char)
        elif char == " " and choice % 4 == 3:
            out.append("+")
        else:
            out.append("".join("%" + hexed(b, choice % 3) for b in char.encode()))
    return "".join(out)


def escaped(key: str, choices: list[int]) -> str:
    """Each character as JSON needs it (0), as \\uXXXX (a surrogate pair past the BMP) in
    some case, or as its short escape (`\\/` for `/`)."""
    out = []
    for char, choice in zip(key, choices, strict=True):
        plain = json.dumps(char, ensure_ascii=False)[1:-1]
        if choice % 4 == 0:
            out.append(plain)
        elif choice % 4 == 3 and char == "/":
            out.append("\\/")
        elif choice % 4 == 3 and plain.startswith("\\"):
            out.append(plain)
        else:
            units = char.encode("utf-16-be", "surrogatepass")
            codes = [int.from_bytes(units[i : i + 2], "big") for i in range(0, len(units), 2)]
            text = "".join(f"\\u{code:04x}" for code in codes)
            out.append(text.upper().replace("\\U", "\\u") if choice % 2 else text)
    return "".join(out)


key_chars = st.one_of(
    st.sampled_from('%+\\/" -_.~:=&?é€😀'), st.characters(min_codepoint=33, max_codepoint=126)
)
keys = (
    st.text(key_chars, min_size=4, max_size=24)
    .map(lambda t: "sk-" + t)
    .filter(lambda k: k == k.strip())
)
context = st.text(st.one_of(key_chars, st.sampled_from("ab\n\t")), max_size=12)


def leaks(key: str, data: bytes) -> list[int]:
    """The decoders (by index) under which `data` shows `key`."""
    wanted = key.encode("utf-8", "surrogatepass")
    return [n for n, decode in enumerate(DECODERS) if wanted in decode(data)]


def assert_never_written(key: str, file: bytes) -> None:
    assert leaks(key, file) == []
    for exchange in read_capture(io.BytesIO(file)):
        request = exchange.request
        fields = [request.target.encode(), request.body, exchange.body]
        fields += [value.encode() for _, value in request.headers]
        if exchange.response is not None:
            fields += [value.encode() for _, value in exchange.response.headers]
        for field in fields:
            assert leaks(key, field) == [], field


@given(
    key=keys,
    choices=st.lists(st.integers(0, 11), min_size=40, max_size=40),
    before=context,
    after=context,
    cuts=st.lists(st.integers(0, 200), max_size=5),
)
@settings(max_examples=200)
def test_the_key_encoded_any_way_anywhere_is_never_written(
    key: str, choices: list[int], before: str, after: str, cuts: list[int]
) -> None:
    per_char = choices[: len(key)] + [0] * max(0, len(key) - len(choices))
    again = per_char[::-1]
    in_query = percent(key, per_char)
    in_json = escaped(key, per_char)
    quote = urllib.parse.quote
    target = f"/v1/messages?note={quote(before)}{in_query}{quote(after)}&k={percent(key, again)}"
    text = json.dumps(before, ensure_ascii=False)[1:-1] + in_json
    body = ('{"text": "' + text + '", "k": "' + escaped(key, again) + '"}').encode()
    form = f"a={urllib.parse.quote_plus(before)}{in_query}&b=1".encode()
    stream = f'data: {{"text": "{escaped(key, again)}{in_json}"}}\n\n'.encode()
    out = io.BytesIO()
    writer = CaptureWriter(out, upstream="http://up")
    headers = [("x-api-key", key), ("x-note", in_query), ("x-json", in_json)]
    writer.request(1, 0.0, "POST", target, headers, body)
    writer.request(2, 0.0, "POST", "/form", [], form)
    writer.response(1, 0.1, 200, "OK", [("x-echo", in_json)])
    at = 0
    for cut in sorted(c % (len(stream) + 1) for c in cuts):
        writer.data(1, 0.2, stream[at:cut])
        at = cut
    writer.data(1, 0.3, stream[at:])
    writer.end(1, 0.4, complete=True)
    writer.end(2, 0.4, complete=False, error=f"failed: {in_query} {in_json}")
    assert_never_written(key, out.getvalue())


def test_an_example_of_each_encoding_is_redacted_and_the_rest_kept() -> None:
    key = "sk-ant-api03-Ab/c d"
    out = io.BytesIO()
    writer = CaptureWriter(out, upstream="http://up")
    writer.request(
        1,
        0.0,
        "POST",
        "/v1/messages?key=sk%2Dant%2dapi03-Ab%2Fc+d&x=1",
        [("x-api-key", key)],
        b'{"k": "sk\\u002dant-api03-Ab\\/c\\u0020d", "model": "m"}',
    )
    writer.end(1, 0.1, complete=False, error="x")
    (exchange,) = read_capture(io.BytesIO(out.getvalue()))
    assert exchange.request.target == "/v1/messages?key=[redacted]&x=1"
    assert json.loads(exchange.request.body) == {"k": "[redacted]", "model": "m"}


# --- bounded secrets, linear work --------------------------------------------------------


def test_keys_past_the_bounds_are_refused_and_nothing_is_written() -> None:
    out = io.BytesIO()
    writer = CaptureWriter(out, upstream="http://up")
    size = len(out.getvalue())
    with pytest.raises(RedactionError, match=str(MAX_SECRET_BYTES)):
        writer.request(1, 0.0, "POST", "/", [("x-api-key", "k" * (MAX_SECRET_BYTES + 1))])
    for n in range(MAX_SECRETS):
        writer.request(n + 2, 0.0, "POST", "/", [("x-api-key", f"key-number-{n}")])
    size = len(out.getvalue())
    for n in range(2_000):  # the attack: each request a different 30 KB key, then more keys
        with pytest.raises(RedactionError):
            writer.request(n, 0.0, "POST", "/", [("x-api-key", f"{n:05}" + "k" * 30_000)])
        with pytest.raises(RedactionError):
            writer.request(n, 0.0, "POST", "/", [("authorization", f"Bearer other-{n}")])
    assert len(out.getvalue()) == size  # refused: nothing written
    assert len(writer._redactor.secrets) == MAX_SECRETS
    with pytest.raises(RedactionError):  # one [redacted] cannot hide
        CaptureWriter(io.BytesIO(), upstream="http://up", secrets=["dact"])


def work(secrets: list[str], pieces: list[bytes]) -> int:
    """The bytes the redactor examined writing `pieces` as one exchange's reads."""
    writer = CaptureWriter(io.BytesIO(), upstream="http://up", secrets=secrets)
    writer.request(1, 0.0, "GET", "/", [])
    for piece in pieces:
        writer.data(1, 0.0, piece)
    writer.end(1, 0.0, complete=True)
    return writer._redactor.work


shapes = st.sampled_from(["reads", "bytes", "big-then-bytes", "escapes"])


def stream_of(shape: str, size: int, key: str) -> list[bytes]:
    """`size` bytes in the shape's reads; every tail begins the key, as long as it can."""
    head = key[: len(key) - 1].encode()
    if shape == "reads":
        unit = (b"data: " + head + b"%2" + b"\\u00")[:64]
        data = (unit * (size // len(unit) + 1))[:size]
        return [data[i : i + 4096] for i in range(0, size, 4096)]
    if shape == "bytes":
        data = (head * (size // len(head) + 1))[:size]
        return [data[i : i + 1] for i in range(size)]
    if shape == "big-then-bytes":
        trickle = [head[i % len(head) :][:1] for i in range(size // 2)]
        return [b"x" * (size // 2), *trickle]
    return [b"\\u0041\\n%41+" * (size // 12)]


@given(shape=shapes, size=st.sampled_from([2_000, 6_000]))
@settings(max_examples=12)
def test_redaction_work_is_linear_in_the_bytes(shape: str, size: int) -> None:
    """4x the bytes costs at most 5x the work, whatever the reads, with the most secrets."""
    secrets = [f"sk-ant-api03-{n:02}" + "A" * 60 for n in range(MAX_SECRETS)]
    small = work(secrets, stream_of(shape, size, secrets[0]))
    large = work(secrets, stream_of(shape, 4 * size, secrets[0]))
    assert large <= 5 * small, (small, large)


def test_the_longest_secrets_cost_bounded_work_per_byte() -> None:
    secrets = [f"{n:02}" + "a" * (MAX_SECRET_BYTES - 2) for n in range(MAX_SECRETS)]
    data = b"a" * 65_536 + secrets[0][:2_000].encode()
    assert work(secrets, [data]) <= 40 * len(data) * MAX_SECRETS
    redactor = Redactor()
    assert redactor.learn(secrets[0])
    assert redactor.open_tail(data) == 2_000  # the tail begins the secret: held


# --- what the writer writes, the reader reads --------------------------------------------


def test_a_body_too_long_as_text_is_written_as_base64_and_read_back() -> None:
    out = io.BytesIO()
    writer = CaptureWriter(out, upstream="http://up", max_line_bytes=4_000)
    body = b"\x01" * 1_000  # escaped: six bytes each
    writer.request(1, 0.0, "POST", "/", [], body)
    writer.response(1, 0.0, 200, "OK", [])
    writer.data(1, 0.0, b"\x02" * 10_000)  # too long even as base64: split, same t
    writer.end(1, 0.0, complete=True)
    (exchange,) = read_capture(io.BytesIO(out.getvalue()), max_line_bytes=4_000)
    assert exchange.request.body == body
    assert exchange.body == b"\x02" * 10_000
    with pytest.raises(CaptureLimitError, match="max_line_bytes"):
        writer.request(2, 0.0, "POST", "/", [], b"\x01" * 4_000)


@given(sizes=st.lists(st.integers(0, 3_000), min_size=1, max_size=40))
@settings(max_examples=50)
def test_the_writer_never_passes_the_capture_limit_and_ends_every_exchange(
    sizes: list[int],
) -> None:
    limit = 20_000
    out = io.BytesIO()
    writer = CaptureWriter(out, upstream="http://up", max_capture_bytes=limit)
    for id, size in enumerate(sizes, 1):
        try:
            writer.request(id, 0.0, "POST", "/", [], b"q" * (size // 2))
        except CaptureLimitError:
            continue
        try:
            writer.response(id, 0.0, 200, "OK", [])
            writer.data(id, 0.0, b"r" * size)
            writer.end(id, 0.0, complete=True)
        except CaptureLimitError as exc:
            writer.end(id, 0.0, complete=False, error=str(exc))
    data = out.getvalue()
    assert len(data) <= limit
    capture = load_capture(io.BytesIO(data), max_capture_bytes=limit)
    assert all(exchange.end is not None for exchange in capture.exchanges)


def test_the_writer_defaults_are_the_readers() -> None:
    writer = CaptureWriter(io.BytesIO(), upstream="http://up")
    assert writer.max_line_bytes == DEFAULT_MAX_LINE_BYTES
    assert writer.max_capture_bytes == DEFAULT_MAX_CAPTURE_BYTES
